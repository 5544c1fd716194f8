"""What a product's fields may hold: one set of rules for the terminal and the server.

The terminal's catalog editor and quick-add check a product with them before writing;
the server checks the values of a resolved product conflict with the very same rules,
so a value a normal edit would refuse cannot come in through a resolution either.
Each message names the field and is meant for the person who typed the value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from app.domain.barcode import BarcodeError, normalize

MAX_TAX_RATE_PPM = 1_000_000  # 100 %


class ProductFieldError(ValueError):
    """A product field value the rules do not allow; the message names the field, and
    ``field`` is the field's name (``price``) once :func:`check_fields` has raised it."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _text(label: str, *, required: bool) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if value is None and not required:
            return None
        if not isinstance(value, str) or (required and not value.strip()):
            raise ProductFieldError(f"{label} is required" if required else f"{label} must be text")
        return value
    return check


def _price(value: Any) -> int:
    if not _whole(value):
        raise ProductFieldError("Price must be a whole number of cents")
    if value < 0:
        raise ProductFieldError("Price cannot be negative")
    return int(value)


def _tax_rate(value: Any) -> int:
    if not _whole(value) or not 0 <= value <= MAX_TAX_RATE_PPM:
        raise ProductFieldError("Tax rate must be between 0% and 100%")
    return int(value)


def _whole_number(label: str) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if not _whole(value):
            raise ProductFieldError(f"{label} must be a whole number")
        return int(value)
    return check


def _flag(label: str) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        if not isinstance(value, bool):
            raise ProductFieldError(f"{label} must be yes or no")
        return value
    return check


def _barcodes(value: Any) -> list[str]:
    """Each code with a right check digit (EAN-13, UPC-A, EAN-8), in its stored form, and
    none twice (a UPC-A and its EAN-13 are the same code)."""
    if not isinstance(value, list | tuple) or not all(isinstance(c, str) for c in value):
        raise ProductFieldError("Barcodes must be a list of codes")
    codes: list[str] = []
    for raw in value:
        if not raw.strip():
            raise ProductFieldError("A barcode cannot be empty")
        try:
            code = normalize(raw)
        except BarcodeError as exc:
            raise ProductFieldError(f"Barcode {exc}") from exc
        if code in codes:
            raise ProductFieldError(f"Barcode {code} is listed twice")
        codes.append(code)
    return codes


CHECKS: dict[str, Callable[[Any], Any]] = {
    "sku": _text("SKU", required=True),
    "name": _text("Name", required=True),
    "category": _text("Category", required=False),
    "price": _price,
    "tax_rate_ppm": _tax_rate,
    "barcodes": _barcodes,
    "active": _flag("Active"),
    "stock_tracked": _flag("Stock tracked"),
    "sold_by_weight": _flag("Sold by weight"),
    "reorder_level_milli": _whole_number("Reorder level"),
}


def check_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` ({field: value}) checked field by field; returns them as stored
    (barcodes in their stored form, UPC-A as EAN-13). Raises ProductFieldError, whose
    ``field`` names the field at fault.

    Whether a barcode already belongs to another product is not a field rule: it needs
    the catalog (the terminal's catalog editor and the server each check it)."""
    unknown = set(values) - set(CHECKS)
    if unknown:
        names = sorted(unknown)
        raise ProductFieldError(f"Not a product field: {', '.join(names)}", names[0])
    checked: dict[str, Any] = {}
    for name, value in values.items():
        try:
            checked[name] = CHECKS[name](value)
        except ProductFieldError as exc:
            exc.field = name
            raise
    return checked
