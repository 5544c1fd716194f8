"""Finding products: by scanned barcode (with GS1 price/weight codes) and by name/SKU."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.domain.barcode import BarcodeError, normalize, parse_variable
from app.domain.cart import CartLine
from app.domain.text_rules import describe, first_control
from app.domain.totals import MILLI, div_round
from app.store.local import LocalStore
from app.store.models import Product, StockMovement

CASE_HINT = " (check Caps Lock or the scanner's case setting)"


class UnknownBarcode(LookupError):
    """A valid scan that matches no product (no barcode, no SKU); the register offers a
    quick-add. ``case_hint``: the code has lower-case letters, so a scanner set to lower
    case (or Caps Lock, which flips a scanner's Shift) may have changed it."""

    def __init__(self, code: str, *, case_hint: bool = False) -> None:
        hint = CASE_HINT if case_hint else ""
        super().__init__(f"No product has barcode {code} (nor that SKU){hint}")
        self.code = code
        self.case_hint = case_hint


class ProductNotForSale(LookupError):
    """A scan or pick of a product a manager made inactive: the product is known (so no
    quick-add: its barcode is taken), but the till must not ring it up."""

    def __init__(self, name: str, code: str | None = None) -> None:
        super().__init__(f"{name} is not for sale (inactive)")
        self.name = name
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


class _ScanRow(NamedTuple):
    id: str
    sku: str
    name: str
    price: int
    tax_rate_ppm: int
    sold_by_weight: bool
    active: bool


# ``active`` is read with the rest (not filtered in SQL): an inactive product must be told
# apart from an unknown code, and the stock and catalog screens still find it.
_SCAN_SQL = ("SELECT p.id, p.sku, p.name, p.price, p.tax_rate_ppm, p.sold_by_weight, p.active "
             "FROM barcodes b JOIN products p ON p.id = b.product_id WHERE b.code = ? LIMIT 1")


_SKU_SQL = ("SELECT id, sku, name, price, tax_rate_ppm, sold_by_weight, active FROM products "
            "WHERE sku = ? LIMIT 1")
# only after every exact look-up missed: a full read of the products, on a miss alone
_SKU_ANY_CASE_SQL = ("SELECT id, sku, name, price, tax_rate_ppm, sold_by_weight, active FROM products "
                     "WHERE upper(sku) = upper(?) LIMIT 1")


def _fetch(s: Session, sql: str, value: str) -> _ScanRow | None:
    cur = s.connection().connection.driver_connection.cursor()
    try:
        row = cur.execute(sql, (value,)).fetchone()
    finally:
        cur.close()
    return None if row is None else _ScanRow(*row[:5], bool(row[5]), bool(row[6]))


def _product_by_sku_or_case(s: Session, raw: str) -> tuple[_ScanRow | None, str | None]:
    """A scan no barcode took: the SKU as scanned (a shelf label's "SKU001374"), then the
    barcode in another case (a scanner in lower-case mode, or Caps Lock flipping its
    Shift), then the SKU in any case. Returns the product and the barcode it was found
    by, as stored (None when found by its SKU)."""
    product = _fetch(s, _SKU_SQL, raw)
    if product is not None:
        return product, None
    for other in dict.fromkeys((raw.upper(), raw.swapcase())):
        if other != raw and (product := _product_by_code(s, other)) is not None:
            return product, other
    return _fetch(s, _SKU_ANY_CASE_SQL, raw), None


def _product_by_code(s: Session, code: str) -> _ScanRow | None:
    """The product a code finds: only the columns a cart line needs, one indexed query
    (loading the whole entity also loaded its category and barcodes: three queries),
    sent as one fixed SQL string on the session's connection (no statement building)."""
    return _fetch(s, _SCAN_SQL, code)


def _check_for_sale(name: str, active: bool, code: str, include_inactive: bool) -> None:
    """Refuse a product that is not for sale, unless the caller manages products."""
    if not active and not include_inactive:
        raise ProductNotForSale(name, code)


def line_for_scan(store: LocalStore, raw: str, *, include_inactive: bool = False) -> CartLine:
    """The cart line a scan rings up. Raises BarcodeError, UnknownBarcode or
    ProductNotForSale (an inactive product; ``include_inactive`` lets the stock and
    catalog screens, which manage products rather than sell them, still find it)."""
    bad = first_control(raw)
    if bad is not None:  # a lone surrogate or a control byte from a misconfigured scanner
        raise BarcodeError(f"The scan holds {describe(bad)}; check the scanner's settings")
    raw = raw.strip()
    # A 12-digit UPC-A is read as its EAN-13 first, so a UPC random-weight code
    # (number system 2) is understood like the GS1 prefix 02 it becomes.
    variable = parse_variable(normalize(raw)) if raw.isdigit() and len(raw) in (12, 13) else None
    with store.db.read() as s:
        if variable is not None:
            product = _product_by_code(s, variable.lookup_code)
            if product is None:
                raise UnknownBarcode(raw)
            _check_for_sale(product.name, product.active, raw, include_inactive)
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
        barcode: str | None = code
        if product is None:
            product, barcode = _product_by_sku_or_case(s, raw)
            if product is None:
                raise UnknownBarcode(code, case_hint=any(c.islower() for c in raw))
        _check_for_sale(product.name, product.active, code, include_inactive)
        return CartLine(product.id, product.sku, product.name, product.price,
                        product.tax_rate_ppm, barcode=barcode, weighed=product.sold_by_weight)


def line_for_product(store: LocalStore, product_id: str, qty_milli: int = 1000, *,
                     include_inactive: bool = False) -> CartLine:
    """The cart line of a product picked from a list. Raises LookupError, or
    ProductNotForSale if it was made inactive since the list was shown."""
    with store.db.read() as s:
        p = s.get(Product, product_id)
        if p is None:
            raise LookupError("That product no longer exists")
        _check_for_sale(p.name, p.active, p.sku, include_inactive)
        return CartLine(p.id, p.sku, p.name, p.price, p.tax_rate_ppm, qty_milli=qty_milli,
                        weighed=p.sold_by_weight)


_FTS_TOKEN = re.compile(r"[\w]+", re.UNICODE)

# Matches read from the FTS index per query, unranked (a LIMIT without ORDER BY rank
# stops the index scan early; ORDER BY rank scored every match of a 3-letter prefix,
# thousands of rows, before its LIMIT). They are ordered here, in Python.
SEARCH_CANDIDATES = 300


def _tokens(text_: str) -> list[str]:
    return _FTS_TOKEN.findall(text_)


def fts_query(text_: str) -> str | None:
    """A prefix query for FTS5 from what a person typed ("coca col" -> "coca"* "col"*)."""
    tokens = _tokens(text_)
    if not tokens:
        return None
    return " ".join(f'"{t}"*' for t in tokens)


def _fts_head_query(tokens: list[str]) -> str:
    """Names or SKUs that *start* with the typed words: "coca col" finds "Coca Cola 1l"
    (FTS5 initial-token phrase, each word a prefix), not "Diet Coca Cola"."""
    return "{name sku} : ^" + " + ".join(f'"{t}"*' for t in tokens)


def _fold(text_: str) -> str:
    """Lower case without diacritics, as the FTS tokenizer compares (remove_diacritics 2)."""
    text_ = text_.casefold()
    if text_.isascii():
        return text_
    return "".join(c for c in unicodedata.normalize("NFKD", text_) if not unicodedata.combining(c))


def _starts_with(words: list[str], typed: list[str]) -> bool:
    return len(words) >= len(typed) and all(w.startswith(t) for w, t in zip(words, typed, strict=False))


def search_order_key(typed: list[str], name: str, sku: str) -> tuple:
    """Where a match goes in the results (``typed``: the folded words typed).

    1. the name is exactly the typed words, or the SKU is exactly what was typed;
    2. the name (or the SKU) starts with the typed words, each word as a prefix;
    3. the name's first word starts with the first typed word;
    4. any other match (the words appear later in the name);
    then shorter names first (the closer match), then alphabetical.
    """
    return (_tier(typed, name, sku), len(name), name.casefold(), sku)


def _tier(typed: list[str], name: str, sku: str) -> int:
    first = typed[0]
    tier = 3
    for text_ in (name, sku):
        folded = _fold(text_)
        # Only a text whose first word can start with the first typed word needs
        # splitting into words (most candidates of a short prefix do not).
        if not folded.startswith(first) and folded[:1].isalnum():
            continue
        words = _tokens(folded)
        if words == typed:
            return 0
        if _starts_with(words, typed):
            tier = 1
        elif text_ is name and tier > 2 and words and words[0].startswith(first):
            tier = 2
    return tier


_FTS_SQL = "SELECT product_id, name, sku FROM products_fts WHERE products_fts MATCH ? LIMIT ?"
_ROW_SQL = ("SELECT id, sku, name, price, tax_rate_ppm, sold_by_weight, active FROM products "
            "WHERE active AND id IN ({})")
_ANY_ROW_SQL = _ROW_SQL.replace("WHERE active AND ", "WHERE ")


def search(store: LocalStore, query: str, limit: int = 50, *,
           include_inactive: bool = False) -> list[ProductRow]:
    """Active products whose name or SKU match what was typed, best matches first
    (``include_inactive``: inactive ones too, for the screens that manage products).

    Every word typed must match the start of a word of the name or SKU; matches are
    ordered by :func:`search_order_key`. At most :data:`SEARCH_CANDIDATES` (or twice
    ``limit``, if more) matches are
    read from the index (no ``ORDER BY rank``: ranking every match of a short prefix
    was the slow part). When a query matches more than that, the names and SKUs that
    *start with* the typed words are read first, so they are never cut off by the
    bound; the other matches are only looked at when those are too few.
    """
    typed = _tokens(_fold(query))
    q = fts_query(query)
    if q is None or not typed or limit <= 0:
        return []
    row_sql = _ANY_ROW_SQL if include_inactive else _ROW_SQL
    with store.db.read() as s:
        cur = s.connection().connection.driver_connection.cursor()
        try:
            bound = max(SEARCH_CANDIDATES, 2 * limit)
            matches = cur.execute(_FTS_SQL, (q, bound + 1)).fetchall()
            if len(matches) <= bound:
                groups = [matches]  # every match: ordered exactly
            else:
                # Head matches come first in the order anyway; the first matches by
                # rowid that are head matches are all among the head query's rows, so
                # the rest of ``matches`` only adds later tiers.
                head = cur.execute(_FTS_SQL, (_fts_head_query(_tokens(query)), bound)).fetchall()
                seen = {r[0] for r in head}
                groups = [head, [r for r in matches if r[0] not in seen]]
            result: list[ProductRow] = []
            for group in groups:
                ordered = sorted(group, key=lambda r: search_order_key(typed, r[1], r[2] or ""))
                ids = [r[0] for r in ordered]
                start = 0
                while len(result) < limit and start < len(ids):
                    chunk = ids[start:start + limit - len(result)]
                    start += len(chunk)
                    rows = {r[0]: r for r in cur.execute(row_sql.format(", ".join("?" * len(chunk))), chunk)}
                    result.extend(ProductRow(*rows[i][:5], bool(rows[i][5]), bool(rows[i][6]))
                                  for i in chunk if i in rows)
                if len(result) >= limit:
                    break
            return result
        finally:
            cur.close()


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


__all__ = ["BarcodeError", "UnknownBarcode", "ProductNotForSale", "ProductRow", "line_for_scan", "line_for_product",
           "search", "get", "on_hand_milli", "count_products"]
