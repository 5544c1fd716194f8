"""Retail barcodes: check digits and GS1 variable-measure (price/weight) codes.

EAN-13, UPC-A (12 digits, read as EAN-13 with a leading 0) and EAN-8 check digits
are verified. GS1 prefix 02 and 20-29 codes carry a price or a weight; this store
uses the common layout ``PP IIIII C VVVV K``: prefix, item code, price check digit
(ignored), 4-digit value, check digit. Prefixes 20-24 and 02 embed a price in minor
units; 25-29 embed a weight in grams. The product is looked up by
``PP IIIII`` (see :func:`variable_lookup_code`).

What a product may carry as a barcode is narrower than what a scan may be
(:func:`product_code`, docs/barcodes.md): a GTIN-8/12/13/14 with its check digit,
a weighed item's 7-digit lookup code (``PP IIIII``, prefix 02 or 20-29), or an
internal code (1-4 capital letters, an optional hyphen, then capitals and digits,
with at least one digit: ``IN7F3A09C2B1``, ``TILL-12``). Anything else (``1, 5x``)
is refused with words, at the till and on the server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    EAN13 = "ean13"
    EAN8 = "ean8"
    UPCA = "upca"
    OTHER = "other"  # Code128, internal codes, order references: no check digit rule


class BarcodeError(ValueError):
    """A scan that is not a valid barcode (wrong check digit, bad length)."""


PRICE_PREFIXES = frozenset({"02", "20", "21", "22", "23", "24"})
WEIGHT_PREFIXES = frozenset({"25", "26", "27", "28", "29"})


def gtin_check_digit(body: str) -> int:
    """GS1 mod-10 check digit of the digits before it (any GTIN length)."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        total += int(ch) * (3 if i % 2 == 0 else 1)
    return (10 - total % 10) % 10


def with_check_digit(body: str) -> str:
    return body + str(gtin_check_digit(body))


def is_valid_gtin(code: str) -> bool:
    return code.isdigit() and len(code) in (8, 12, 13, 14) and gtin_check_digit(code[:-1]) == int(code[-1])


def classify(code: str) -> Kind:
    if code.isdigit():
        return {13: Kind.EAN13, 12: Kind.UPCA, 8: Kind.EAN8}.get(len(code), Kind.OTHER)
    return Kind.OTHER


def normalize(code: str) -> str:
    """The form products are stored under: UPC-A becomes its EAN-13 (leading 0).

    Raises BarcodeError for an EAN/UPC whose check digit is wrong.
    """
    code = code.strip()
    kind = classify(code)
    if kind is Kind.OTHER:
        if not code:
            raise BarcodeError("Empty barcode")
        return code
    if not is_valid_gtin(code):
        raise BarcodeError(f"{code} has a wrong check digit (a misread scan?)")
    return "0" + code if kind is Kind.UPCA else code


WEIGHED_LOOKUP = re.compile(r"(?:02|2[0-9])[0-9]{5}")
INTERNAL_CODE = re.compile(r"(?=.*[0-9])[A-Z]{1,4}-?[A-Z0-9]{1,20}")
SHAPES = ("a GTIN (8, 12, 13 or 14 digits ending in its check digit), a weighed item's code "
          "(7 digits starting 02 or 20-29) or an internal code (1-4 capital letters, an optional "
          "hyphen, then capital letters and digits, like IN7F3A09 or TILL-12)")


def product_code(raw: str) -> str:
    """``raw`` as a product barcode in its stored form, or BarcodeError saying what a barcode is."""
    code = raw.strip()
    if not code:
        raise BarcodeError("Empty barcode")
    if code.isdigit():
        if len(code) in (8, 12, 13, 14):
            return normalize(code)
        if WEIGHED_LOOKUP.fullmatch(code):
            return code
    elif INTERNAL_CODE.fullmatch(code):
        return code
    raise BarcodeError(f"“{code}” is not a barcode: use {SHAPES}")


@dataclass(frozen=True)
class VariableMeasure:
    lookup_code: str  # PP IIIII: what the product is stored under
    price: int | None  # embedded price in minor units
    grams: int | None  # embedded weight


def variable_lookup_code(prefix: str, item: str) -> str:
    return f"{prefix}{item}"


def parse_variable(code: str) -> VariableMeasure | None:
    """The embedded price or weight of a GS1 variable-measure EAN-13, else None."""
    if len(code) != 13 or not code.isdigit():
        return None
    prefix = code[:2]
    if prefix not in PRICE_PREFIXES and prefix not in WEIGHT_PREFIXES:
        return None
    if not is_valid_gtin(code):
        raise BarcodeError(f"{code} has a wrong check digit (a misread scan?)")
    lookup = variable_lookup_code(prefix, code[2:7])
    value = int(code[8:12])
    if prefix in PRICE_PREFIXES:
        return VariableMeasure(lookup, price=value, grams=None)
    return VariableMeasure(lookup, price=None, grams=value)


def make_variable(prefix: str, item: str, value: int) -> str:
    """Build a valid variable-measure EAN-13 (for demo data and tests)."""
    body = f"{prefix}{item:0>5}0{value:04d}"
    if len(body) != 12:
        raise ValueError("value does not fit in four digits")
    return with_check_digit(body)
