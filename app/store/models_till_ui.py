"""What the till keeps for the people at the counter (issue 21): sales parked to serve
someone else first, recalled later, surviving a restart; and the quick keys, buttons for
items with no barcode (a product, or a category opening its products).

A parked sale is the cart on disk, not a business event: nothing is sold, paid or moved
in stock until it is recalled and paid, when the sale is recorded the usual way (order,
audit entry and outbox operation). So it never syncs; its park, recall and discard are
in this till's audit chain (app/services/parked_sales.py). The customer's details, if
the cart had them, are sealed like every customer's (``customer_enc``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.store.base import Base


class ParkedSale(Base):
    __tablename__ = "parked_sales"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(36), index=True)  # the till it waits on
    parked_by: Mapped[str] = mapped_column(String(36))  # staff id
    parked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    label: Mapped[str | None] = mapped_column(String(80))  # "lady in the red coat"
    total: Mapped[int] = mapped_column(Integer)  # minor units, as the cart came to when parked
    line_count: Mapped[int] = mapped_column(Integer)
    cart: Mapped[dict] = mapped_column(JSON)  # app.services.parked_sales.cart_to_dict
    customer_enc: Mapped[bytes | None] = mapped_column(LargeBinary)


class QuickKey(Base):
    """One button of the register's quick keys, at ``position`` (0 is top left)."""

    __tablename__ = "quick_keys"
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # product, category
    product_id: Mapped[str | None] = mapped_column(String(36))
    category_id: Mapped[str | None] = mapped_column(String(36))
    label: Mapped[str | None] = mapped_column(String(40))  # None: the product's or category's name
    updated_by: Mapped[str] = mapped_column(String(36))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
