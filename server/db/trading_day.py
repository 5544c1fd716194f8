"""Cash moved in and out of a till's drawer during a shift (issue 14: ``cash.move``).

Paid in, paid out, drops to the safe and no-sales, as the till recorded them; the
shift's Z report (on ``shifts``) counts them in the cash expected. Amounts in minor units.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, utcnow


class CashMovement(Base):
    __tablename__ = "cash_movements"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"))
    terminal_id: Mapped[str] = mapped_column(String(36))
    shift_id: Mapped[str] = mapped_column(ForeignKey("shifts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # pay_in, pay_out, drop, no_sale
    amount: Mapped[int]
    reason: Mapped[str | None] = mapped_column(String(500), default=None)
    actor_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
