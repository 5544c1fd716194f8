"""Catalog CSV import and export: validate everything, then import all or nothing.

The file's columns (header required, any order; ``*`` marks required):
``sku*, name*, price*`` (major units, "2.49"), ``tax_rate*`` (percent, "23"),
``barcodes`` (separated by ``|``), ``category``, ``reorder_level``, ``active``
(yes/no), ``sold_by_weight`` (yes/no). A row whose SKU exists updates that
product; others create one. A bad file imports nothing and the report names every
bad line and why. The import is an ordinary synced change: one audit entry for the
import and one ``product.create``/``product.update`` operation per product.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from app.domain.ids import new_id
from app.domain.money import MoneyError, to_minor
from app.domain.permissions import Action, require
from app.domain.product_rules import check_fields
from app.services.catalog_edit import apply_edits, category_id
from app.store.local import LocalStore
from app.store.models import Barcode, Category, OutboxOperation, PriceChange, Product
from app.store.unit_of_work import Actor, Mutation, mutation

REQUIRED = ("sku", "name", "price", "tax_rate")
OPTIONAL = ("barcodes", "category", "reorder_level", "active", "sold_by_weight")
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class LineError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[LineError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class Row:
    line: int
    sku: str
    values: dict[str, Any]


def _yes(text: str, column: str) -> bool:
    t = text.strip().lower()
    if t in ("", "1", "yes", "y", "true"):
        return True
    if t in ("0", "no", "n", "false"):
        return False
    label = column.replace("_", " ").capitalize()
    raise ValueError(f"{label} must be yes or no, not “{text}”")


def _parse_row(line: int, rec: dict[str, str], currency: str) -> Row:
    """A line's text read into product values, then checked with the product rules that
    the catalog editor and the server use (app/domain/product_rules.py)."""
    sku, name = (rec.get("sku") or "").strip(), (rec.get("name") or "").strip()
    try:
        price = to_minor(Decimal((rec.get("price") or "").strip()), currency)
    except (InvalidOperation, MoneyError):
        raise ValueError(f"Price “{rec.get('price')}” is not an amount") from None
    try:
        rate = Decimal((rec.get("tax_rate") or "").strip().rstrip("%"))
    except InvalidOperation:
        raise ValueError(f"Tax rate “{rec.get('tax_rate')}” is not a percentage") from None
    codes = [c for c in (rec.get("barcodes") or "").replace(" ", "|").split("|") if c.strip()]
    reorder = (rec.get("reorder_level") or "0").strip() or "0"
    try:
        reorder_milli = int(Decimal(reorder) * 1000)
    except InvalidOperation:
        raise ValueError(f"Reorder level “{reorder}” is not a number") from None
    values = check_fields({
        "sku": sku, "name": name, "price": price, "tax_rate_ppm": int(rate * 10_000),
        "barcodes": codes, "category": (rec.get("category") or "").strip() or None,
        "reorder_level_milli": reorder_milli, "active": _yes(rec.get("active") or "", "active"),
        "sold_by_weight": _yes(rec.get("sold_by_weight") or "no", "sold_by_weight")})
    values["barcodes"] = sorted(values["barcodes"])
    return Row(line, values.pop("sku"), values)


def parse(text: str, currency: str, existing_codes: dict[str, str], existing_skus: dict[str, str]) -> tuple[list[Row], ImportReport]:
    """Read and validate every line; ``existing_*`` map barcode/sku to product id."""
    report = ImportReport()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        report.errors.append(LineError(1, f"Missing column(s): {', '.join(missing)}"))
        return [], report
    reader.fieldnames = header
    rows: list[Row] = []
    sku_of = {pid: sku for sku, pid in existing_skus.items()}
    seen_sku: dict[str, int] = {}
    seen_code: dict[str, tuple[int, str]] = {}
    for rec in reader:
        line = reader.line_num
        report.rows += 1
        try:
            row = _parse_row(line, rec, currency)
            if row.sku in seen_sku:
                raise ValueError(f"SKU {row.sku} is also on line {seen_sku[row.sku]}")
            for code in row.values["barcodes"]:
                if code in seen_code and seen_code[code][1] != row.sku:
                    raise ValueError(f"Barcode {code} is also on line {seen_code[code][0]}")
                owner = existing_codes.get(code)
                if owner and owner != existing_skus.get(row.sku):
                    raise ValueError(f"Barcode {code} already belongs to another product"
                                     f" (SKU {sku_of.get(owner, '?')})")
        except ValueError as exc:
            report.errors.append(LineError(line, str(exc)))
            continue
        seen_sku[row.sku] = line
        for code in row.values["barcodes"]:
            seen_code[code] = (line, row.sku)
        rows.append(row)
    return rows, report


def import_csv(store: LocalStore, actor: Actor, text: str, *, source: str = "catalog.csv",
               progress: Progress | None = None) -> ImportReport:
    """Validate the whole file, then import it in one transaction (or not at all)."""
    require(actor.role, Action.CATALOG_IMPORT)
    settings = store.settings()
    with store.db.read() as s:
        codes = dict(s.execute(select(Barcode.code, Barcode.product_id)).all())
        skus = dict(s.execute(select(Product.sku, Product.id)).all())
    rows, report = parse(text, settings.currency, codes, skus)
    if not report.ok:
        return report
    total = len(rows)
    with mutation(store.db, store.device_id, actor, "catalog.import", bulk=True) as m:
        cats = dict(m.session.execute(select(Category.name, Category.id)).all())
        creates = [r for r in rows if r.sku not in skus]
        for done, row in enumerate(r for r in rows if r.sku in skus):
            product = m.session.get(Product, skus[row.sku])
            edits = apply_edits(m, product, row.values)
            if edits:
                report.updated += 1
                m.emit("product.update", product.id, {"fields": edits, "reason": f"import {source}"},
                       base_version=product.version)
            else:
                report.unchanged += 1
            _tick(progress, done + 1, total)
        _bulk_create(m, creates, cats, progress, total - len(creates), total)
        report.created = len(creates)
        digest = hashlib.sha256(text.encode()).hexdigest()
        m.audit("catalog", source, {"created": {"before": None, "after": report.created},
                                    "updated": {"before": None, "after": report.updated},
                                    "sha256": {"before": None, "after": digest}}, reason=f"import {source}")
        if not m.op_count:  # a file that changed nothing still leaves a trace in the outbox
            m.emit("product.update", source, {"fields": {}, "reason": f"import {source}: no changes"})
    return report


def _tick(progress: Progress | None, done: int, total: int) -> None:
    if progress and (done % 500 == 0 or done == total):
        progress(done, total)


def _bulk_create(m: Mutation, rows: list[Row], cats: dict[str, str], progress: Progress | None, start: int, total: int) -> None:
    """Insert new products with core bulk inserts: a 100,000-row file stays fast."""
    products, barcodes, prices, ops = [], [], [], []
    for i, row in enumerate(rows):
        v = row.values
        if v["category"] and v["category"] not in cats:
            cats[v["category"]] = category_id(m.session, v["category"])
        pid = new_id()
        products.append({"id": pid, "sku": row.sku, "name": v["name"], "category_id": cats.get(v["category"]),
                         "price": v["price"], "tax_rate_ppm": v["tax_rate_ppm"], "active": v["active"],
                         "stock_tracked": True, "sold_by_weight": v["sold_by_weight"],
                         "reorder_level_milli": v["reorder_level_milli"], "version": 0, "updated_at": m.at})
        barcodes.extend({"code": c, "product_id": pid} for c in v["barcodes"])
        prices.append({"id": new_id(), "product_id": pid, "old_price": None, "new_price": v["price"],
                       "actor_id": m.actor.staff_id, "changed_at": m.at})
        m.device.op_seq += 1
        ops.append({"op_id": new_id(), "op_seq": m.device.op_seq, "type": "product.create", "entity_id": pid,
                    "actor_id": m.actor.staff_id, "device_id": m.device.id, "created_at": m.at,
                    "base_version": 0, "format_version": 1, "status": "pending", "attempts": 0,
                    "updated_at": m.at, "payload": {"sku": row.sku, **v}})
        _tick(progress, start + i + 1, total)
    conn = m.session.connection()  # Core inserts: the ORM's per-row bookkeeping is not needed here
    for model, batch in ((Product, products), (Barcode, barcodes), (PriceChange, prices), (OutboxOperation, ops)):
        for chunk in _chunks(batch, 5000):
            conn.execute(insert(model.__table__), chunk)
    m.bulk_emitted(len(ops))


def _chunks(items: list, size: int) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _plain_number(value: int, scale: int) -> str:
    """23 for 230_000 ppm-of-percent, 2.5 for 2500 milli: no trailing zeros, no exponent."""
    text = f"{Decimal(value) / scale:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def export_csv(store: LocalStore, path: Path | None = None) -> str:
    """The whole catalog as CSV in the import format (round-trips through import)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(REQUIRED + OPTIONAL)
    settings = store.settings()
    from app.domain.money import format_plain

    with store.db.read() as s:
        for p in s.scalars(select(Product).order_by(Product.sku)):
            writer.writerow([p.sku, p.name, format_plain(p.price, settings.currency),
                             _plain_number(p.tax_rate_ppm, 10_000),
                             "|".join(sorted(b.code for b in p.barcodes)), p.category.name if p.category else "",
                             _plain_number(p.reorder_level_milli, 1000),
                             "yes" if p.active else "no", "yes" if p.sold_by_weight else "no"])
    text = out.getvalue()
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text
