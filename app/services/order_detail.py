"""Everything the order-detail screen shows, read in one place (screens never query)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from app.domain import order_balance
from app.services.customers import CustomerDetails, decrypt
from app.services.payment_plans import PlanStatus, status_of
from app.store.local import LocalStore
from app.store.models import AuditEntry, Installment, Order, Staff
from app.store.models_aftersale import Approval
from app.store.outbox_crypto import open_payload


@dataclass(frozen=True)
class LineView:
    id: str
    name: str
    sku: str | None
    qty_milli: int
    unit_price: int
    discount: int
    total: int
    refunded_qty_milli: int


@dataclass(frozen=True)
class PaymentView:
    id: str
    method: str
    amount: int
    tendered: int
    change: int
    at: datetime
    by: str


@dataclass(frozen=True)
class AuditView:
    at: datetime
    by: str
    device_id: str
    action: str
    changes: dict[str, Any]
    reason: str | None


@dataclass(frozen=True)
class OrderDetail:
    id: str
    reference: str
    status: str
    created_at: datetime
    created_by: str
    customer: CustomerDetails | None
    subtotal: int
    discount: int
    tax: int
    total: int
    paid: int
    refunded: int
    flags: list[str]
    note: str | None
    deleted_reason: str | None
    version: int
    lines: list[LineView]
    payments: list[PaymentView]
    plan: PlanStatus | None
    audit: list[AuditView]
    pending_approvals: list[str]

    @property
    def returned(self) -> int:
        """What the goods brought back are worth at the order's prices."""
        return order_balance.returned_value(self.lines)

    @property
    def balance(self) -> int:
        """What the customer still owes: what they keep less what they paid net, the
        server's rule too (app/domain/order_balance.py); less than zero: overpaid."""
        return order_balance.owed(self.total, self.paid, self.refunded, self.returned)


def order_detail(store: LocalStore, order_id: str) -> OrderDetail | None:
    with store.db.read() as s:
        o = s.get(Order, order_id)
        if o is None:
            return None
        names = dict(s.execute(select(Staff.id, Staff.name)).all())
        who = lambda staff_id: names.get(staff_id, staff_id)  # noqa: E731
        installments = list(s.scalars(select(Installment).where(Installment.order_id == o.id)
                                      .order_by(Installment.number)))
        # The order's own entries and those of its approval requests (asked, decided, why).
        approval_ids = select(Approval.id).where(Approval.order_id == o.id)
        entries = s.scalars(select(AuditEntry).where(
            (AuditEntry.entity_id == o.id) | AuditEntry.entity_id.in_(approval_ids))
            .order_by(AuditEntry.at, AuditEntry.seq))
        approvals = s.scalars(select(Approval.kind).where(Approval.order_id == o.id, Approval.status == "pending"))
        return OrderDetail(
            o.id, o.reference, o.status, o.created_at, who(o.created_by),
            decrypt(store.cipher, o.customer) if o.customer else None,
            o.subtotal, o.discount, o.tax, o.total, o.paid, o.refunded, list(o.flags or []), o.note,
            o.deleted_reason, o.version,
            [LineView(li.id, li.name, li.sku, li.qty_milli, li.unit_price, li.gross - li.net, li.total,
                      li.refunded_qty_milli) for li in o.lines],
            [PaymentView(p.id, p.method, p.amount, p.tendered, p.change, p.created_at, who(p.actor_id))
             for p in o.payments],
            status_of(o, installments) if installments else None,
            [AuditView(e.at, who(e.actor_id), e.device_id, e.action,
                       open_payload(store.cipher, e.changes) or {}, e.reason) for e in entries],
            list(approvals),
        )
