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
