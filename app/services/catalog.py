"""Finding products: by scanned barcode (with GS1 price/weight codes) and by name/SKU."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.domain.barcode import BarcodeError, normalize, parse_variable
from app.domain.cart import CartLine
from app.domain.totals import MILLI, div_round
from app.store.local import LocalStore
from app.store.models import Barcode, Product, StockMovement


class UnknownBarcode(LookupError):
    """A valid scan that matches no product; the register offers a quick-add."""

    def __init__(self, code: str) -> None:
        super().__init__(f"No product has barcode {code}")
        self.code = code


@dataclass(frozen=True)
class ProductRow:
    """What the register and search lists need to show about a product."""

    id: str
    sku: str
    name: str
    price: int
    tax_rate_ppm: int
    sold_by_weight: bool
    active: bool


def _row(p: Product) -> ProductRow:
    return ProductRow(p.id, p.sku, p.name, p.price, p.tax_rate_ppm, p.sold_by_weight, p.active)


_SCAN_COLUMNS = (Product.id, Product.sku, Product.name, Product.price, Product.tax_rate_ppm,
                 Product.sold_by_weight)


def _product_by_code(s: Session, code: str):  # -> Row with the _SCAN_COLUMNS, or None
    """The product a code finds: only the columns a cart line needs, one indexed query
    (loading the whole entity also loaded its category and barcodes: three queries)."""
    return s.execute(
        select(*_SCAN_COLUMNS).join(Barcode, Barcode.product_id == Product.id)
        .where(Barcode.code == code).limit(1)
    ).first()


def line_for_scan(store: LocalStore, raw: str) -> CartLine:
    """The cart line a scan rings up. Raises BarcodeError or UnknownBarcode."""
    raw = raw.strip()
    # A 12-digit UPC-A is read as its EAN-13 first, so a UPC random-weight code
    # (number system 2) is understood like the GS1 prefix 02 it becomes.
    variable = parse_variable(normalize(raw)) if raw.isdigit() and len(raw) in (12, 13) else None
    with store.db.read() as s:
        if variable is not None:
            product = _product_by_code(s, variable.lookup_code)
            if product is None:
                raise UnknownBarcode(raw)
            if variable.grams is not None:
                return CartLine(product.id, product.sku, product.name, product.price,
                                product.tax_rate_ppm, qty_milli=variable.grams, barcode=raw, weighed=True)
            # Price-embedded: one unit at the printed price.
            return CartLine(product.id, product.sku, product.name, variable.price or 0,
                            product.tax_rate_ppm, barcode=raw, weighed=True)
        code = normalize(raw)
        product = _product_by_code(s, code)
        if product is None and raw != code:
            product = _product_by_code(s, raw)
        if product is None:
            raise UnknownBarcode(code)
        return CartLine(product.id, product.sku, product.name, product.price,
                        product.tax_rate_ppm, barcode=code, weighed=product.sold_by_weight)


def line_for_product(store: LocalStore, product_id: str, qty_milli: int = 1000) -> CartLine:
    with store.db.read() as s:
        p = s.get(Product, product_id)
        if p is None:
            raise LookupError("That product no longer exists")
        return CartLine(p.id, p.sku, p.name, p.price, p.tax_rate_ppm, qty_milli=qty_milli,
                        weighed=p.sold_by_weight)


_FTS_TOKEN = re.compile(r"[\w]+", re.UNICODE)


def fts_query(text_: str) -> str | None:
    """A prefix query for FTS5 from what a person typed ("coca col" -> "coca"* "col"*)."""
    tokens = _FTS_TOKEN.findall(text_)
    if not tokens:
        return None
    return " ".join(f'"{t}"*' for t in tokens)


def search(store: LocalStore, query: str, limit: int = 50) -> list[ProductRow]:
    """Active products whose name or SKU match what was typed, best matches first."""
    q = fts_query(query)
    if q is None:
        return []
    with store.db.read() as s:
        ids = [r[0] for r in s.execute(
            text("SELECT product_id FROM products_fts WHERE products_fts MATCH :q ORDER BY rank LIMIT :n"),
            {"q": q, "n": limit},
        )]
        if not ids:
            return []
        found = {r.id: ProductRow(*r) for r in s.execute(
            select(Product.id, Product.sku, Product.name, Product.price, Product.tax_rate_ppm,
                   Product.sold_by_weight, Product.active)
            .where(Product.id.in_(ids), Product.active)
        )}
        return [found[i] for i in ids if i in found]


def get(store: LocalStore, product_id: str) -> ProductRow | None:
    with store.db.read() as s:
        p = s.get(Product, product_id)
        return _row(p) if p else None


def on_hand_milli(store: LocalStore, product_id: str) -> int:
    """Stock on hand, derived from the movement ledger (negative means oversold)."""
    with store.db.read() as s:
        total = s.scalar(select(func.coalesce(func.sum(StockMovement.qty_delta_milli), 0))
                         .where(StockMovement.product_id == product_id))
        return int(total or 0)


def count_products(store: LocalStore) -> int:
    with store.db.read() as s:
        return int(s.scalar(select(func.count()).select_from(Product)) or 0)


def price_for(unit_price: int, qty_milli: int) -> int:
    return div_round(unit_price * qty_milli, MILLI)


__all__ = ["BarcodeError", "UnknownBarcode", "ProductRow", "line_for_scan", "line_for_product",
           "search", "get", "on_hand_milli", "count_products"]
