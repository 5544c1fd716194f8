"""The rules of a till's trading shift, pure (no store): what may be opened or closed.

One open shift per terminal; closing needs the open shift; a float and a count are
whole amounts in range (app/domain/limits.py), and a count by note and coin adds up.
Each rule answers with the words for the person at the till, or None when it holds.
"""

from __future__ import annotations

from collections.abc import Mapping

from app.domain.limits import MAX_AMOUNT, MAX_DENOMINATIONS, MAX_PIECES, fits
from app.domain.money import format_money


def by_denomination(counted: Mapping[int, int]) -> tuple[int | None, str | None]:
    """(total, None) of a count by note and coin ({denomination_minor: pieces}), or
    (None, the problem)."""
    if len(counted) > MAX_DENOMINATIONS:
        return None, f"A count has at most {MAX_DENOMINATIONS} kinds of notes and coins"
    total = 0
    for denomination, pieces in counted.items():
        if not fits(denomination, 1, MAX_AMOUNT):
            return None, "A note or coin must be worth more than zero"
        if not fits(pieces, 0, MAX_PIECES):
            return None, f"The count of {format_money(denomination)} pieces is not a whole number in range"
        total += denomination * pieces
    if total > MAX_AMOUNT:
        return None, f"The count is more than {format_money(MAX_AMOUNT)}"
    return total, None


def open_refusal(has_open_shift: bool, opening_float: int) -> str | None:
    """Why a shift cannot be opened on this till now, or None."""
    if has_open_shift:
        return "This till already has an open shift; close it before opening another"
    if not fits(opening_float, 0, MAX_AMOUNT):
        return f"The opening float must be between {format_money(0)} and {format_money(MAX_AMOUNT)}"
    return None


def close_refusal(has_open_shift: bool, counted_cash: int) -> str | None:
    """Why the shift cannot be closed now, or None."""
    if not has_open_shift:
        return "There is no open shift on this till to close"
    if not fits(counted_cash, 0, MAX_AMOUNT):
        return f"The counted cash must be between {format_money(0)} and {format_money(MAX_AMOUNT)}"
    return None


_MOVEMENT_WORDS = {"pay_in": "paid in", "pay_out": "paid out", "drop": "dropped to the safe"}


def movement_refusal(has_open_shift: bool, kind: str, amount: int, reason: str | None,
                     expected_cash: int) -> str | None:
    """Why a cash movement cannot be recorded now, or None. Paid in and paid out need a
    reason; an amount is more than zero (a no-sale has none); cash paid out or dropped
    cannot be more than the drawer should hold."""
    if not has_open_shift:
        return "Open a shift first: cash moves in and out of a shift's drawer"
    if kind == "no_sale":
        return None if amount == 0 else "A no-sale moves no cash"
    if kind not in _MOVEMENT_WORDS:
        return f"Unknown cash movement: {kind}"
    if not fits(amount, 1, MAX_AMOUNT):
        return f"The amount {_MOVEMENT_WORDS[kind]} must be more than {format_money(0)}"
    if kind in ("pay_in", "pay_out") and not (reason and reason.strip()):
        return f"Say why cash is {_MOVEMENT_WORDS[kind]}"
    if kind in ("pay_out", "drop") and amount > expected_cash:
        return (f"The drawer should hold only {format_money(expected_cash)}; "
                f"{format_money(amount)} cannot be {_MOVEMENT_WORDS[kind]}")
    return None


def needs_approval(over_short: int, threshold: int) -> bool:
    """Whether an over/short is beyond the store's threshold (either way)."""
    return abs(over_short) > max(0, threshold)


def variance_refusal(over_short: int, threshold: int, reason: str | None,
                     has_approver: bool) -> str | None:
    """Why the close cannot go ahead with this over/short, or None: beyond the
    threshold it needs a reason and a manager's approval."""
    if not needs_approval(over_short, threshold):
        return None
    words = "over" if over_short > 0 else "short"
    if not (reason and reason.strip()):
        return (f"The drawer is {format_money(abs(over_short))} {words}, more than "
                f"{format_money(threshold)}: say why")
    if not has_approver:
        return (f"The drawer is {format_money(abs(over_short))} {words}, more than "
                f"{format_money(threshold)}: a manager must approve the close")
    return None


def card_refusal(card_batch_total: int | None) -> str | None:
    """Why a card batch total typed in cannot be taken, or None."""
    if card_batch_total is not None and not fits(card_batch_total, 0, MAX_AMOUNT):
        return f"The card batch total must be between {format_money(0)} and {format_money(MAX_AMOUNT)}"
    return None
