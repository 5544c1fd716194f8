"""Money: integer minor units, one rounding rule, parsing and display.

Every amount in Tillsync is an ``int`` count of the store currency's minor unit
(cents for EUR/USD, yen for JPY). Floats never hold money. All divisions that
can leave a remainder go through :func:`div_round`, which rounds half away from
zero ("commercial rounding"), so the terminal and the server agree to the cent.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel import Locale, UnknownLocaleError
from babel.numbers import (
    NumberFormatError,
    format_currency,
    get_currency_precision,
    get_decimal_symbol,
    list_currencies,
    parse_decimal,
)

DEFAULT_CURRENCY = "EUR"
DEFAULT_LOCALE = "en_IE"


class MoneyError(ValueError):
    """An amount a person typed could not be read as money."""


#: ISO 4217 codes that are no shop's money: precious metals, bond units, special drawing
#: rights, the testing code and "no currency" (XAF, XCD, XOF, XPF are real tender)
NOT_TENDER = frozenset({"XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XDR", "XPD", "XPT", "XSU",
                        "XTS", "XUA", "XXX"})


def is_tender(currency: str) -> bool:
    """Whether a store may trade in ``currency`` (an ISO 4217 code babel knows, not one of
    :data:`NOT_TENDER`): a code a till cannot format or round would stop every sale."""
    return currency in list_currencies() and currency not in NOT_TENDER


def is_locale(name: str) -> bool:
    """Whether babel knows ``name`` ("en_IE", "de"): a till formats every amount in it."""
    try:
        Locale.parse(name)
    except (ValueError, TypeError, UnknownLocaleError):
        return False
    return True


def div_round(numerator: int, denominator: int) -> int:
    """Divide two integers, rounding half away from zero (the one rounding rule)."""
    if denominator == 0:
        raise ZeroDivisionError("denominator is zero")
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    sign = -1 if numerator < 0 else 1
    q, r = divmod(abs(numerator), denominator)
    if 2 * r >= denominator:
        q += 1
    return sign * q


def exponent(currency: str) -> int:
    """Number of minor-unit digits of an ISO 4217 currency (2 for EUR, 0 for JPY)."""
    return int(get_currency_precision(currency))


def to_minor(value: Decimal | str | int, currency: str = DEFAULT_CURRENCY) -> int:
    """Turn a decimal major-unit amount ("12.34") into minor units, rounding half up."""
    try:
        dec = Decimal(str(value))
    except InvalidOperation as exc:
        raise MoneyError(f"{value!r} is not an amount") from exc
    if not dec.is_finite():
        raise MoneyError(f"{value!r} is not an amount")
    scaled = (dec * (10 ** exponent(currency))).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(scaled)


def to_decimal(minor: int, currency: str = DEFAULT_CURRENCY) -> Decimal:
    """Minor units back to an exact major-unit Decimal (for CSV export, APIs)."""
    return Decimal(minor).scaleb(-exponent(currency))


def parse(text: str, currency: str = DEFAULT_CURRENCY, locale: str = DEFAULT_LOCALE) -> int:
    """Read an amount typed by a person in the store's locale ("1,234.50") into minor units."""
    cleaned = text.strip().replace("\u00a0", "")
    for symbol in ("€", "$", "£", "¥", currency):
        cleaned = cleaned.replace(symbol, "")
    cleaned = cleaned.strip()
    if not cleaned:
        raise MoneyError("Enter an amount")
    try:
        # strict: "4,48" in a point locale is refused, not read as 448 (a grouping mark)
        dec = parse_decimal(cleaned, locale=locale, strict=True)
    except NumberFormatError as exc:
        raise MoneyError(_not_an_amount(text, exc, locale, currency)) from exc
    except Exception as exc:  # anything else babel cannot read
        raise MoneyError(f"“{text}” is not an amount") from exc
    places = -dec.as_tuple().exponent if isinstance(dec.as_tuple().exponent, int) else 0
    if places > exponent(currency):
        raise MoneyError(f"“{text}” has more decimals than {currency} allows")
    return to_minor(dec, currency)


def _not_an_amount(text: str, exc: NumberFormatError, locale: str, currency: str) -> str:
    """The words for an amount babel refused; when babel's guess has the locale's decimal
    sign and fits the currency ("4,48" in a point locale: 4.48), they name it."""
    point = get_decimal_symbol(locale)
    for guess in getattr(exc, "suggestions", None) or []:
        decimals = guess.rpartition(point)[2] if point in guess else None
        if decimals is not None and 0 < len(decimals) <= exponent(currency):
            return f"“{text}” is not an amount (cents go after a “{point}”): did you mean {guess}?"
    return f"“{text}” is not an amount"


def format_money(minor: int, currency: str = DEFAULT_CURRENCY, locale: str = DEFAULT_LOCALE) -> str:
    """Display minor units in the store's locale, e.g. 123456 -> "€1,234.56"."""
    return format_currency(to_decimal(minor, currency), currency, locale=locale)


def format_plain(minor: int, currency: str = DEFAULT_CURRENCY) -> str:
    """Fixed-format amount without symbol ("1234.56") for receipts columns and CSV."""
    exp = exponent(currency)
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**exp)
    return f"{sign}{whole}.{frac:0{exp}d}" if exp else f"{sign}{whole}"


def allocate(total: int, weights: list[int]) -> list[int]:
    """Split ``total`` over ``weights`` proportionally; parts sum exactly to ``total``.

    Largest-remainder method: each part is floored, then the leftover units go to
    the parts with the biggest remainders (ties to the earliest). Used to spread an
    order discount over its lines and to split a balance into installments.
    """
    if not weights:
        return []
    wsum = sum(weights)
    if wsum == 0:
        weights = [1] * len(weights)
        wsum = len(weights)
    sign = -1 if total < 0 else 1
    amount = abs(total)
    parts = [amount * w // wsum for w in weights]
    remainders = [(amount * w % wsum, -i) for i, w in enumerate(weights)]
    leftover = amount - sum(parts)
    for _, neg_i in sorted(remainders, reverse=True)[:leftover]:
        parts[-neg_i] += 1
    return [sign * p for p in parts]
