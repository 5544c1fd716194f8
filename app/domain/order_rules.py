"""The money and order rules, written once: the till checks them before writing, the
server checks them again on every path (push handlers, the bulk push writer, the back
office, conflict resolution).

Each check raises :class:`RuleError` whose message is meant for a person and reads the
same at the till and in a rejected operation's reason. What the rules refuse is what
no correct till sends (a payment of nothing, an unknown tender, a refund of more than
was sold or paid, a schedule that does not add up, a malformed reference, a number out
of range). What a till could not have known when it wrote (a price changed since, stock
going negative, another till's payment, a reused reference) is not checked here: the
server applies it and flags it.

Money is in minor units, quantities in thousandths; the ranges are in
:mod:`app.domain.limits`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from app.domain.ids import REFERENCE_RE, SERVER_DEVICE_CODE
from app.domain.limits import (
    MAX_AMOUNT,
    MAX_INSTALLMENTS,
    MAX_LINES,
    MAX_METHOD,
    MAX_NOTE,
    MAX_PPM,
    MAX_QTY_MILLI,
    MAX_REFERENCE,
    fits,
)
from app.domain.money import format_money
from app.domain.order_status import TRANSITIONS, OrderStatus, status_for_balance
from app.domain.tender import Method

TENDERS: tuple[str, ...] = tuple(m.value for m in Method)


class RuleError(ValueError):
    """A change the money and order rules refuse; the message is for a person."""


def money_text(amount: int, currency: str = "EUR") -> str:
    """``amount`` as a person reads it ("€16.23"), whatever the currency code holds."""
    try:
        return format_money(amount, currency)
    except Exception:  # an unknown currency code: still say the amount
        return f"{amount / 100:.2f} {currency}"


# ------------------------------------------------------------------ ranges


def check_keeps_brought_back(name: str, qty_milli: int, brought_back_milli: int) -> None:
    """An edit leaves a line at least the quantity refunds already took back of it (0:
    the line removed): what was brought back cannot be un-sold by an edit, and the
    refund's record would point at goods the order no longer holds."""
    if brought_back_milli > 0 and qty_milli < brought_back_milli:
        back = f"{brought_back_milli / 1000:g}"
        raise RuleError(f"{back} of {name} was already brought back: its quantity cannot go "
                        f"below {back} (refund the rest instead)")


def check_note(note: object) -> None:
    """An order's note is text of at most MAX_NOTE characters (line breaks allowed)."""
    if note is None:
        return
    if not isinstance(note, str):
        raise RuleError("The note must be text")
    if len(note) > MAX_NOTE:
        raise RuleError(f"The note is too long ({len(note):,} characters; at most {MAX_NOTE:,})")


def check_range(value: object, low: int, high: int, what: str) -> None:
    """``value`` is a whole number in ``low..high``, else a RuleError naming ``what``."""
    if not (isinstance(value, int) and fits(value, low, high)):
        raise RuleError(f"{what} must be a whole number from {low:,} to {high:,}")


def check_amount(value: object, what: str, *, signed: bool = False) -> None:
    """An amount of money in minor units (0..MAX_AMOUNT, or ±MAX_AMOUNT if ``signed``)."""
    check_range(value, -MAX_AMOUNT if signed else 0, MAX_AMOUNT, what)


def check_sum(before: int, added: int, what: str) -> None:
    """A running sum (an order's ``paid`` or ``refunded``) stays within MAX_AMOUNT."""
    if before + added > MAX_AMOUNT:
        raise RuleError(f"{what} would come to more than {MAX_AMOUNT:,} minor units, "
                        "the most one order can hold")


# ------------------------------------------------------------------ payments


def check_method(method: object) -> None:
    """The payment method is one of the store's tenders."""
    if not isinstance(method, str) or len(method) > MAX_METHOD or method not in TENDERS:
        shown = method if isinstance(method, str) and len(method) <= MAX_METHOD else "that"
        raise RuleError(f"“{shown}” is not a tender this store takes "
                        f"({', '.join(TENDERS)})")


def check_payment(amount: object, method: object, *, tendered: object = None,
                  change: object = 0) -> None:
    """A payment is more than zero, within range, in a known tender, and its figures add
    up: what the customer handed over is the payment and the change given back (a till
    makes them so, app/domain/tender.py; a payment whose cash handed over falls short of
    it, or whose change is not the difference, records money nobody counted)."""
    if isinstance(amount, int) and not isinstance(amount, bool) and amount <= 0:
        raise RuleError("A payment must be more than zero")
    check_amount(amount, "A payment")
    check_method(method)
    if tendered is not None:
        check_amount(tendered, "The amount tendered")
    check_amount(change, "The change given")
    if tendered is not None and tendered != amount + change:  # type: ignore[operator]
        raise RuleError("The amount handed over is less than the payment"
                        if tendered < amount  # type: ignore[operator]
                        else "The change given is not the amount handed over less the payment")


def check_takes_payment(status: OrderStatus | str, reference: str = "") -> None:
    """A deleted order takes no payment."""
    if OrderStatus(status) is OrderStatus.DELETED:
        name = f"Order {reference}" if reference else "This order"
        raise RuleError(f"{name} was deleted; a deleted order takes no payment")


# ------------------------------------------------------------------ status


def _reachable(current: OrderStatus) -> set[OrderStatus]:
    seen: set[OrderStatus] = set()
    todo = [current]
    while todo:
        for nxt in TRANSITIONS[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def moves_forward(current: OrderStatus | str, new: OrderStatus | str) -> bool:
    """Whether ``new`` is ``current`` or a status the machine reaches from it."""
    cur, nxt = OrderStatus(current), OrderStatus(new)
    return nxt is cur or nxt in _reachable(cur)


def next_status(current: OrderStatus | str, total: int, paid: int, refunded: int,
                returned: int = 0) -> OrderStatus:
    """The status after a change of money or goods brought back (``returned``: their
    value, app/domain/order_balance.py): what the balance says if that is forward of
    ``current``, else ``current`` (a status never moves back: a completed order stays
    completed, a deleted order stays deleted)."""
    cur = OrderStatus(current)
    if cur is OrderStatus.DELETED:
        return cur
    new = status_for_balance(total, paid, refunded, returned)
    if cur is OrderStatus.PENDING and new is OrderStatus.REFUNDED:
        return cur  # all of it came back before it was paid: nothing owed; delete it to close
    return new if moves_forward(cur, new) else cur


# ------------------------------------------------------------------ refunds and deletion


class RefundLineLike(Protocol):
    @property
    def line_id(self) -> str: ...
    @property
    def qty_milli(self) -> int: ...
    @property
    def amount(self) -> int: ...


@dataclass(frozen=True)
class SoldLine:
    """What a line of the order sold and what of it was refunded already."""

    name: str
    qty_milli: int
    refunded_qty_milli: int = 0


def check_refund_lines(lines: Iterable[RefundLineLike], sold: Mapping[str, SoldLine]) -> None:
    """Per line: the line is on the order, 0 < quantity ≤ what is left to refund."""
    taken: dict[str, int] = {}
    for rl in lines:
        line = sold.get(rl.line_id)
        if line is None:
            raise RuleError("That line is not on this order")
        if isinstance(rl.qty_milli, int) and rl.qty_milli <= 0:
            raise RuleError(f"{line.name}: a quantity refunded must be more than zero")
        check_range(rl.qty_milli, 1, MAX_QTY_MILLI, f"{line.name}: the quantity refunded")
        check_amount(rl.amount, f"{line.name}: the amount refunded")
        left = line.qty_milli - line.refunded_qty_milli - taken.get(rl.line_id, 0)
        if rl.qty_milli > left:
            raise RuleError(f"{line.name}: at most {max(left, 0) / 1000:g} can be refunded")
        taken[rl.line_id] = taken.get(rl.line_id, 0) + rl.qty_milli


def check_refund_money(amount: object, paid: int, refunded: int, currency: str = "EUR") -> None:
    """In money, what is refunded never comes to more than what was paid."""
    check_amount(amount, "A refund")
    assert isinstance(amount, int)
    left = max(paid - refunded, 0)
    if amount > left:
        raise RuleError(f"At most {money_text(left, currency)} can be refunded: "
                        f"{money_text(paid, currency)} was paid and "
                        f"{money_text(refunded, currency)} is already refunded")


def collected(paid: int, refunded: int) -> int:
    """Money held for an order: what was paid less what was refunded."""
    return paid - refunded


def deletion_blocker(status: OrderStatus | str, paid: int, refunded: int,
                     currency: str = "EUR") -> str | None:
    """Why the order cannot be deleted now (for a person), or None when it can."""
    current = OrderStatus(status)
    if current is not OrderStatus.PENDING and current is not OrderStatus.DELETED:
        return f"The order is {current.value}; correct it with a refund"
    held = collected(paid, refunded)
    if held > 0:
        return (f"{money_text(held, currency)} was collected on this order: "
                "refund it before deleting")
    return None


def check_deletable(status: OrderStatus | str, paid: int, refunded: int,
                    currency: str = "EUR") -> None:
    reason = deletion_blocker(status, paid, refunded, currency)
    if reason is not None:
        raise RuleError(reason)


# ------------------------------------------------------------------ new orders


class LineLike(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def unit_price(self) -> int: ...
    @property
    def qty_milli(self) -> int: ...
    @property
    def tax_rate_ppm(self) -> int: ...
    @property
    def discount_percent_ppm(self) -> int: ...
    @property
    def discount_amount(self) -> int: ...


def check_lines(lines: Sequence[LineLike], *, derived: Sequence[Mapping[str, object]] = ()) -> None:
    """An order's lines: 1..MAX_LINES of them, each with its own id, a quantity more
    than zero, and every number in range (``derived``: the lines' computed amounts)."""
    if not lines:
        raise RuleError("An order needs at least one line")
    if len(lines) > MAX_LINES:
        raise RuleError(f"An order has at most {MAX_LINES:,} lines")
    seen: set[str] = set()
    for n, li in enumerate(lines, 1):
        if li.id in seen:
            raise RuleError(f"Line {n} has the id of another line of this order")
        seen.add(li.id)
        if isinstance(li.qty_milli, int) and li.qty_milli <= 0:
            raise RuleError(f"Line {n}: a quantity sold must be more than zero")
        check_range(li.qty_milli, 1, MAX_QTY_MILLI, f"Line {n}: the quantity")
        check_amount(li.unit_price, f"Line {n}: the unit price", signed=True)
        check_range(li.tax_rate_ppm, 0, MAX_PPM, f"Line {n}: the tax rate")
        check_range(li.discount_percent_ppm, 0, MAX_PPM, f"Line {n}: the discount percentage")
        check_amount(li.discount_amount, f"Line {n}: the discount")
    for n, amounts in enumerate(derived, 1):
        for name, value in amounts.items():
            check_amount(value, f"Line {n}: {name}", signed=True)


def check_order_amounts(amounts: Mapping[str, object], *, discount_ppm: object = 0,
                        discount_amount: object = 0) -> None:
    """An order's totals (``{"subtotal": .., "total": ..}``) and order discount in range."""
    for name, value in amounts.items():
        check_amount(value, f"The order's {name}", signed=True)
    check_range(discount_ppm, 0, MAX_PPM, "The order discount percentage")
    check_amount(discount_amount, "The order discount")


def check_reference(reference: object, *, from_server: bool = False) -> None:
    """A reference has the documented shape (``GO-`` + device code + counter); the
    server's own code range is for orders the server makes (``from_server``)."""
    ok = (isinstance(reference, str) and len(reference) <= MAX_REFERENCE
          and REFERENCE_RE.match(reference) is not None)
    if not ok:
        shown = reference if isinstance(reference, str) and len(reference) <= MAX_REFERENCE \
            else "that"
        raise RuleError(f"“{shown}” is not an order reference (GO-, two letters or digits "
                        "of the till's code, then its counter)")
    assert isinstance(reference, str)
    if not from_server and reference[3:5] == SERVER_DEVICE_CODE:
        raise RuleError(f"References GO-{SERVER_DEVICE_CODE}… are made by the server only")


# ------------------------------------------------------------------ schedules


class InstallmentLike(Protocol):
    @property
    def number(self) -> int: ...
    @property
    def due_date(self) -> date: ...
    @property
    def amount(self) -> int: ...


def check_schedule(owed: int, installments: Sequence[InstallmentLike],
                   currency: str = "EUR") -> None:
    """Installments numbered 1..N, each more than zero, due dates in order, adding up
    to exactly ``owed`` (the total less the down payment)."""
    if not installments:
        return
    if len(installments) > MAX_INSTALLMENTS:
        raise RuleError(f"A plan has at most {MAX_INSTALLMENTS} installments")
    for n, inst in enumerate(installments, 1):
        if inst.number != n:
            raise RuleError(f"Installments are numbered 1 to {len(installments)} in order")
        if isinstance(inst.amount, int) and inst.amount <= 0:
            raise RuleError(f"Installment {n} must be more than zero")
        check_amount(inst.amount, f"Installment {n}")
    dates = [i.due_date for i in installments]
    if any(b <= a for a, b in zip(dates, dates[1:], strict=False)):
        raise RuleError("Installment due dates must be in order, one after another")
    total = sum(i.amount for i in installments)
    if total != owed:
        raise RuleError(f"The installments add up to {money_text(total, currency)}, "
                        f"but {money_text(owed, currency)} is owed after the down payment")


class CustomerLike(Protocol):
    @property
    def name(self) -> str | None: ...
    @property
    def phone(self) -> str | None: ...


PLAN_NEEDS_CUSTOMER = ("A payment plan needs a customer: their name and phone number, "
                       "so someone can reach them about what is still owed")


def check_plan_customer(installments: Sequence[object], customer: CustomerLike | None) -> None:
    """An order with installments names who owes them: a customer with a name and a phone."""
    if not installments:
        return
    if customer is None or not (customer.name or "").strip() or not (customer.phone or "").strip():
        raise RuleError(PLAN_NEEDS_CUSTOMER)
