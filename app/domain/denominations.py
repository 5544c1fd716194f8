"""The notes and coins of a store's currency, for counting a drawer note by note.

A small table per ISO 4217 currency (babel knows a currency's decimals, not its notes
and coins), in minor units, largest first. A currency not in the table falls back to a
1-2-5 series over its decimals, so a count can always be typed in; the total of a count
is app/domain/shift_rules.py ``by_denomination``.
"""

from __future__ import annotations

from app.domain.money import exponent

_TABLE: dict[str, tuple[int, ...]] = {
    "EUR": (50000, 20000, 10000, 5000, 2000, 1000, 500, 200, 100, 50, 20, 10, 5, 2, 1),
    "USD": (10000, 5000, 2000, 1000, 500, 200, 100, 25, 10, 5, 1),
    "GBP": (5000, 2000, 1000, 500, 200, 100, 50, 20, 10, 5, 2, 1),
    "CHF": (100000, 20000, 10000, 5000, 2000, 1000, 500, 200, 100, 50, 20, 10, 5),
    "SEK": (100000, 50000, 20000, 10000, 5000, 2000, 1000, 500, 200, 100),
    "NOK": (100000, 50000, 20000, 10000, 5000, 2000, 1000, 500, 100),
    "DKK": (100000, 50000, 20000, 10000, 5000, 2000, 1000, 500, 200, 100, 50),
    "PLN": (50000, 20000, 10000, 5000, 2000, 1000, 500, 200, 100, 50, 20, 10, 5, 2, 1),
    "CAD": (10000, 5000, 2000, 1000, 500, 200, 100, 25, 10, 5),
    "AUD": (10000, 5000, 2000, 1000, 500, 200, 100, 50, 20, 10, 5),
    "JPY": (10000, 5000, 2000, 1000, 500, 100, 50, 10, 5, 1),
}


def denominations(currency: str) -> tuple[int, ...]:
    """The notes and coins of ``currency`` in minor units, largest first."""
    known = _TABLE.get(currency.upper())
    if known is not None:
        return known
    unit = 10 ** exponent(currency)
    series = [m * unit * 10**p for p in range(4, -1, -1) for m in (5, 2, 1)]
    coins = [m * 10**p for p in range(len(str(unit)) - 2, -1, -1) for m in (5, 2, 1)] if unit > 1 else []
    return tuple(series + coins)


def total(counted: dict[int, int]) -> int:
    """The value of a count ({denomination_minor: pieces})."""
    return sum(d * n for d, n in counted.items())
