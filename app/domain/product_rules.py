"""What a product's fields may hold: one set of rules for the terminal and the server.

The terminal's catalog editor and quick-add check a product with them before writing;
the server checks pushed product.create/product.update, the back office's edits and the
values of a resolved product conflict with the very same rules, so a value one side
refuses cannot come in through the other. Each message names the field and is meant for
the person who typed the value. No text field holds a control character or a lone
surrogate (app/domain/text_rules.py): a product name is printed on receipts and labels.

Two rules need the catalog, so each side looks the other product up in its own store
(the terminal's local one, the server's organization): a barcode belongs to one product
(:func:`barcode_taken`, codes compared in their stored form, :func:`code_spellings`) and
an SKU to one product (:func:`sku_taken`; compared exactly, case and spaces count, as
the terminal's store compares it). Their messages are written here, once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from app.domain.barcode import BarcodeError, normalize, product_code
from app.domain.limits import MAX_AMOUNT, MAX_QTY_MILLI
from app.domain.text_rules import TextError, check_clean, check_text

MAX_TAX_RATE_PPM = 1_000_000  # 100 %
LONGEST_CODE = 64  # the terminal's barcodes.code column


class ProductFieldError(ValueError):
    """A product field value the rules do not allow; the message names the field, and
    ``field`` is the field's name (``price``) once :func:`check_fields` has raised it."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _text(label: str, *, required: bool, longest: int) -> Callable[[Any], Any]:
    """``longest``: the shorter of the terminal's and the server's column, so a value
    either side takes fits both."""
    def check(value: Any) -> Any:
        if value is None and not required:
            return None
        try:
            if required and (not isinstance(value, str) or not check_clean(label, value).strip()):
                raise ProductFieldError(f"{label} is required")
            return check_text(label, value, longest)
        except TextError as exc:
            raise ProductFieldError(str(exc)) from None
    return check


def _price(value: Any) -> int:
    if not _whole(value):
        raise ProductFieldError("Price must be a whole number of cents")
    if value < 0:
        raise ProductFieldError("Price cannot be negative")
    if value > MAX_AMOUNT:
        raise ProductFieldError(f"Price is too large (at most {MAX_AMOUNT:,} minor units)")
    return int(value)


def _tax_rate(value: Any) -> int:
    if not _whole(value) or not 0 <= value <= MAX_TAX_RATE_PPM:
        raise ProductFieldError("Tax rate must be between 0% and 100%")
    return int(value)


def _thousandths(label: str, high: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if not _whole(value):
            raise ProductFieldError(f"{label} must be a whole number")
        if not -high <= value <= high:
            raise ProductFieldError(f"{label} is out of range (at most {high // 1000:,} units)")
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
        try:
            check_clean("Barcode", raw)
        except TextError as exc:  # before strip(): it takes U+001C-U+001F and U+0085 as spaces
            raise ProductFieldError(str(exc)) from None
        if not raw.strip():
            raise ProductFieldError("A barcode cannot be empty")
        if len(raw.strip()) > LONGEST_CODE:
            raise ProductFieldError(f"Barcode {raw.strip()[:20]}… is too long (at most {LONGEST_CODE} characters)")
        try:
            code = product_code(raw)  # a GTIN, a weighed item's code or an internal code
        except BarcodeError as exc:
            raise ProductFieldError(f"Barcode {exc}") from exc
        if code in codes:
            raise ProductFieldError(f"Barcode {code} is listed twice")
        codes.append(code)
    return codes


CHECKS: dict[str, Callable[[Any], Any]] = {
    "sku": _text("SKU", required=True, longest=64),
    "name": _text("Name", required=True, longest=200),
    "category": _text("Category", required=False, longest=100),
    "price": _price,
    "tax_rate_ppm": _tax_rate,
    "barcodes": _barcodes,
    "active": _flag("Active"),
    "stock_tracked": _flag("Stock tracked"),
    "sold_by_weight": _flag("Sold by weight"),
    "reorder_level_milli": _thousandths("Reorder level", MAX_QTY_MILLI),
}


def stored_form(code: str) -> str:
    """A code as the rules store it; a code stored before they were checked may not
    normalize: it is compared as it is (stripped)."""
    try:
        return normalize(code)
    except BarcodeError:
        return code.strip()


def code_spellings(codes: Iterable[str]) -> set[str]:
    """``codes`` (stored form) and the UPC-A spelling of each EAN-13 starting with 0:
    what to look a code up under in a catalog that may hold either."""
    codes = list(codes)
    return set(codes) | {c[1:] for c in codes if len(c) == 13 and c.startswith("0")}


def barcode_taken(code: str, other_name: str, other_sku: str) -> ProductFieldError:
    """The error for a code that already belongs to another product (named, with its SKU,
    so the clerk can find it)."""
    return ProductFieldError(
        f"Barcode {code} already belongs to another product: {other_name} (SKU {other_sku})",
        "barcodes")


def sku_taken(sku: str, other_name: str) -> ProductFieldError:
    """The error for an SKU another product already has (named)."""
    return ProductFieldError(f"SKU {sku} already exists on another product: {other_name}", "sku")


LABELS = {"sku": "SKU", "tax_rate_ppm": "tax rate", "reorder_level_milli": "reorder level",
          "stock_tracked": "stock tracking", "sold_by_weight": "sold by weight"}


def check_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` ({field: value}) checked field by field; returns them as stored
    (barcodes in their stored form, UPC-A as EAN-13). Raises ProductFieldError, whose
    ``field`` names the field at fault.

    Whether a barcode or the SKU already belongs to another product is not a field rule:
    it needs the catalog (the terminal's catalog editor and conflict resolution, and the
    server, each check it, with the messages of :func:`barcode_taken` and
    :func:`sku_taken`)."""
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


def check_product(values: Mapping[str, Any], current: Mapping[str, Any] | None = None
                  ) -> dict[str, Any]:
    """``values`` ({field: new value}) checked with :func:`check_fields` and returned as
    stored, and the product they make with ``current`` (its other fields) checked too: an
    edit that leaves a product invalid is refused, naming the current value at fault.
    The current barcodes are not re-judged (an old code stored before the rules is judged
    only when the barcodes change). Fields of ``current`` that are not product fields
    (``id``, ``version``) are ignored. Raises ProductFieldError."""
    stored = check_fields(values)
    rest = {n: v for n, v in (current or {}).items()
            if n not in stored and n != "barcodes" and n in CHECKS}
    try:
        check_fields(rest)
    except ProductFieldError as exc:
        label = LABELS.get(exc.field or "", exc.field)
        raise ProductFieldError(f"{exc} (the product's current {label}; correct it in the "
                                "same edit)", exc.field) from exc
    return stored
