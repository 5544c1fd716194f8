"""Payment plans on the terminal: what is due, what is paid, what is overdue.

The plan itself is made by :mod:`app.domain.schedule` (shared with the server) and
recorded with the sale (``sales.record_sale(..., plan=...)``). Installments are paid
with ``sales.record_payment(..., installment_id=...)`` on any terminal of the store;
what each payment covers is worked out from the total paid towards the plan, so
payments made on several terminals offline simply add up after sync.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from app.domain.schedule import InstallmentState, ScheduledInstallment, allocate_paid, overdue
from app.store.local import LocalStore
from app.store.models import Installment, Order


@dataclass(frozen=True)
class PlanStatus:
    order_id: str
    reference: str
    down_payment: int
    installments: list[InstallmentState]
    installment_ids: list[str]

    @property
    def outstanding(self) -> int:
        return sum(i.outstanding for i in self.installments)


def status_of(order: Order, rows: list[Installment]) -> PlanStatus:
    scheduled = [ScheduledInstallment(r.number, r.due_date, r.amount) for r in rows]
    down = order.total - sum(r.amount for r in rows)
    # What covers the installments: all but what is still owed (order_balance), so goods
    # brought back and not paid back count as paid, oldest installment first, and the
    # installments left add up to the order's balance.
    towards_plan = order.total - down - order.balance
    return PlanStatus(order.id, order.reference, down, allocate_paid(scheduled, towards_plan),
                      [r.id for r in rows])


def plan_status(store: LocalStore, order_id: str) -> PlanStatus | None:
    """The order's schedule with what is paid of each installment, or None without a plan."""
    with store.db.read() as s:
        order = s.get(Order, order_id)
        rows = list(s.scalars(select(Installment).where(Installment.order_id == order_id)
                              .order_by(Installment.number)))
        return status_of(order, rows) if order and rows else None


def next_installment_id(status: PlanStatus) -> str | None:
    for state, inst_id in zip(status.installments, status.installment_ids, strict=True):
        if state.outstanding:
            return inst_id
    return None


@dataclass(frozen=True)
class OverdueInstallment:
    order_id: str
    reference: str
    number: int
    due_date: date
    outstanding: int


def overdue_installments(store: LocalStore, today: date) -> list[OverdueInstallment]:
    """Every unpaid installment past its due date, oldest first (pending orders only)."""
    result: list[OverdueInstallment] = []
    with store.db.read() as s:
        orders = s.scalars(select(Order).where(Order.status == "pending",
                                               Order.id.in_(select(Installment.order_id))))
        for order in orders:
            rows = list(s.scalars(select(Installment).where(Installment.order_id == order.id)
                                  .order_by(Installment.number)))
            for late in overdue(status_of(order, rows).installments, today):
                result.append(OverdueInstallment(order.id, order.reference, late.number, late.due_date,
                                                 late.outstanding))
    return sorted(result, key=lambda o: (o.due_date, o.reference))
