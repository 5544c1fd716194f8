"""The order status machine, shared by terminal and server.

pending --(paid in full)--> completed --(refunded in full)--> refunded
pending --(approved deletion)--> deleted
completed orders are corrected by refund, never edited or deleted.
"""

from __future__ import annotations

from enum import StrEnum

from app.domain.order_balance import kept_value, owed


class OrderStatus(StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"
    REFUNDED = "refunded"
    DELETED = "deleted"


class StatusError(ValueError):
    """A change of status the rules do not allow."""


TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PENDING: frozenset({OrderStatus.COMPLETED, OrderStatus.DELETED}),
    OrderStatus.COMPLETED: frozenset({OrderStatus.REFUNDED}),
    OrderStatus.REFUNDED: frozenset(),
    OrderStatus.DELETED: frozenset(),
}


def status_for_balance(total: int, paid: int, refunded: int = 0, returned: int = 0) -> OrderStatus:
    """The status an undeleted order has given what it costs, what was paid, given back
    and brought back (``returned``: app/domain/order_balance.py): refunded when the
    customer keeps nothing of it, completed when nothing is owed, else pending."""
    if total > 0 and kept_value(total, refunded, returned) <= 0:
        return OrderStatus.REFUNDED
    return OrderStatus.COMPLETED if owed(total, paid, refunded, returned) <= 0 else OrderStatus.PENDING


def check_transition(current: OrderStatus, new: OrderStatus) -> None:
    if new == current:
        return
    if new not in TRANSITIONS[current]:
        raise StatusError(f"An order that is {current.value} cannot become {new.value}")


def is_editable(status: OrderStatus) -> bool:
    """Only a pending order may have its lines or customer edited."""
    return status is OrderStatus.PENDING
