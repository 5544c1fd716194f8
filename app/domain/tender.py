"""Tendering: how payments settle an order's balance, change due, split tender.

Cash may be over-tendered (the difference is change); card and other tenders may
not exceed the balance, since no terminal hands back change on a card.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Method(StrEnum):
    CASH = "cash"
    CARD = "card"
    OTHER = "other"


#: the one tender that may be more than the balance due (the difference is change), as
#: the text a payment's ``method`` holds on the wire and in the server's rows
CASH: str = Method.CASH.value


def may_exceed_balance(method: str) -> bool:
    """Whether a payment of ``method`` (a Method or its text) may be more than the
    balance due: cash only, since no terminal hands back change on a card."""
    return method == CASH


def over_balance_message(method: str) -> str:
    """Why a payment of ``method`` above the balance due is refused: the same words at
    the till (:func:`apply_tenders`), in a push's answer and in the back office's."""
    return f"A {method} payment cannot be more than the balance due"  # (a Method: its text)


class TenderError(ValueError):
    """A payment that cannot be taken as given."""


@dataclass(frozen=True)
class Tender:
    method: Method
    tendered: int  # what the customer handed over


@dataclass(frozen=True)
class AppliedTender:
    method: Method
    tendered: int
    amount: int  # applied to the order
    change: int  # handed back (cash only)


def apply_tenders(balance: int, tenders: list[Tender]) -> list[AppliedTender]:
    """Apply tenders in order against ``balance``; only the last cash may give change."""
    if balance < 0:
        raise TenderError("Nothing is due on this order")
    applied: list[AppliedTender] = []
    remaining = balance
    for i, t in enumerate(tenders):
        if t.tendered <= 0:
            raise TenderError("A payment must be more than zero")
        if remaining <= 0:
            raise TenderError("The order is already paid in full")
        if t.tendered <= remaining:
            applied.append(AppliedTender(t.method, t.tendered, t.tendered, 0))
            remaining -= t.tendered
            continue
        if not may_exceed_balance(t.method):
            raise TenderError(over_balance_message(t.method))
        if i != len(tenders) - 1:
            raise TenderError("Only the last cash payment can give change")
        applied.append(AppliedTender(t.method, t.tendered, remaining, t.tendered - remaining))
        remaining = 0
    return applied


def change_due(balance: int, cash_tendered: int) -> int:
    """Change to hand back when ``cash_tendered`` is given for ``balance``."""
    return max(0, cash_tendered - balance)


def quick_cash_amounts(balance: int, notes: tuple[int, ...] = (500, 1000, 2000, 5000, 10000)) -> list[int]:
    """Likely cash amounts for the tender screen: exact, next round units, next notes."""
    if balance <= 0:
        return []
    options = {balance, -(-balance // 100) * 100}
    options.update(n for n in notes if n > balance)
    return sorted(options)[:5]
