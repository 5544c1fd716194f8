"""Exact stock counts on the till: each committed count once, and what the stock clerk
accepted from the reconciliation list.

A count's lines are stock movements (kind ``count``, reference = the count's reference);
its row here is what makes a retried commit a no-op (app/services/stock_count.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.store.base import Base


class StockCount(Base):
    __tablename__ = "stock_counts"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the count session's id
    reference: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[str] = mapped_column(String(36))
    committed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    products: Mapped[int] = mapped_column(Integer)  # products counted
    moved: Mapped[int] = mapped_column(Integer)  # of them, with a difference at the till


class StockReview(Base):
    """A reconciliation item the stock clerk accepted (it leaves the list)."""

    __tablename__ = "stock_reviews"
    key: Mapped[str] = mapped_column(String(120), primary_key=True)  # the item's key
    product_id: Mapped[str] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # negative, count, compensation
    note: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[str] = mapped_column(String(36))
    accepted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
