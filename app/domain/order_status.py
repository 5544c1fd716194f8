"""The order status machine, shared by terminal and server.

pending --(paid in full)--> completed --(refunded in full)--> refunded
pending --(approved deletion)--> deleted
completed orders are corrected by refund, never edited or deleted.
"""

from __future__ import annotations

from enum import StrEnum


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


def status_for_balance(total: int, paid: int, refunded: int = 0) -> OrderStatus:
    """The status an undeleted order has given what it costs and what was paid."""
    if total > 0 and refunded >= total:
        return OrderStatus.REFUNDED
    return OrderStatus.COMPLETED if paid >= total else OrderStatus.PENDING


def check_transition(current: OrderStatus, new: OrderStatus) -> None:
    if new == current:
        return
    if new not in TRANSITIONS[current]:
        raise StatusError(f"An order that is {current.value} cannot become {new.value}")


def is_editable(status: OrderStatus) -> bool:
    """Only a pending order may have its lines or customer edited."""
    return status is OrderStatus.PENDING
