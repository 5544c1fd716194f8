"""Catalog CSV import and export: validate everything, then import all or nothing.

The file's columns (header required, any order; ``*`` marks required):
``sku*, name*, price*`` (major units, "2.49"), ``tax_rate*`` (percent, "23"),
``barcodes`` (separated by ``|``), ``category``, ``reorder_level``, ``active``
(yes/no), ``sold_by_weight`` (yes/no). A row whose SKU exists updates that
product; others create one. A bad file imports nothing and the report names every
bad line and why. The import is an ordinary synced change: one audit entry for the
import and one ``product.create``/``product.update`` operation per product.

A hostile or broken file gets words, never a crash: bytes that are not UTF-8 (a lone
surrogate among them), a field longer than :data:`MAX_FIELD`, a number no column can
hold and a control character in a text are each reported on their line.

Export neutralises spreadsheet formulas (the OWASP CSV-injection rule): a text cell
(SKU, name, barcodes, category) that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return is written with a leading ``'``, so a spreadsheet shows it as text and
never runs it. Number cells are ours (``-5`` stays a number). Import takes the quote
off again (a text cell that starts with ``'`` and then one of those characters), so an
exported file imports back unchanged.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, insert, select

from app.domain.ids import new_id
from app.domain.limits import MAX_PPM, MAX_QTY_MILLI
from app.domain.money import MoneyError, format_plain, to_minor
from app.domain.operations import OpType
from app.domain.payloads import ProductCreate
from app.domain.permissions import Action, require
from app.domain.product_rules import check_fields
from app.domain.text_rules import describe, is_control
from app.services.catalog_edit import apply_edits, category_id, field_edits
from app.store.local import LocalStore
from app.store.models import Barcode, Category, OutboxOperation, PriceChange, Product
from app.store.unit_of_work import OPERATION_FORMAT_VERSION, Actor, Mutation, mutation, wire_payload

REQUIRED = ("sku", "name", "price", "tax_rate")
OPTIONAL = ("barcodes", "category", "reorder_level", "active", "sold_by_weight")
TEXT_COLUMNS = ("sku", "name", "barcodes", "category")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # OWASP: what a spreadsheet may run
MAX_FIELD = 131_072  # characters in one field (csv's own limit, said in words here)
MAX_FILE_BYTES = 200 * 1024 * 1024  # a 100,000-product catalog is about 10 MB
MAX_REPORTED = 1000  # line errors listed before the report stops counting
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


def _shown(text: str) -> str:
    """``text`` as a message may quote it: control characters spelled out, cut short."""
    shown = "".join(f"\\u{ord(c):04x}" if is_control(c) else c for c in text[:40])
    return shown + ("…" if len(text) > 40 else "")


def _scaled(text: str, scale: int, high: int, message: str) -> int:
    """``text`` (a decimal number) times ``scale``, as a whole number, refused with
    ``message`` when it is not a finite number or its size is beyond ``high``."""
    try:
        value = Decimal(text)
        if not value.is_finite() or abs(value) > high:
            raise ValueError(message)
        return int(value * scale)
    except ArithmeticError:  # InvalidOperation, Overflow: not a number Decimal can hold
        raise ValueError(message) from None


def _price(text: str, currency: str) -> int:
    try:
        return to_minor(Decimal(text), currency)
    except (ArithmeticError, MoneyError):  # not a number, or one too large to scale
        raise ValueError(f"Price “{_shown(text)}” is not an amount") from None


def _unquoted(text: str) -> str:
    """A text cell as stored: the export's formula quote taken off (see the module doc)."""
    return text[1:] if text[:1] == "'" and text[1:2] in FORMULA_START else text


def _parse_row(line: int, rec: dict[str, str], currency: str) -> Row:
    """A line's text read into product values, then checked with the product rules that
    the catalog editor and the server use (app/domain/product_rules.py)."""
    cell = {c: _unquoted((rec.get(c) or "").strip()) for c in TEXT_COLUMNS}
    price = _price((rec.get("price") or "").strip(), currency)
    rate_text = (rec.get("tax_rate") or "").strip().rstrip("%")
    rate = _scaled(rate_text, 10_000, MAX_PPM,
                   f"Tax rate “{_shown(rec.get('tax_rate') or '')}” is not a percentage")
    codes = [c for c in cell["barcodes"].replace(" ", "|").split("|") if c.strip()]
    reorder = (rec.get("reorder_level") or "0").strip() or "0"
    reorder_milli = _scaled(reorder, 1000, MAX_QTY_MILLI // 1000,
                            f"Reorder level “{_shown(reorder)}” is not a number")
    values = check_fields({
        "sku": cell["sku"], "name": cell["name"], "price": price, "tax_rate_ppm": rate,
        "barcodes": codes, "category": cell["category"] or None,
        "reorder_level_milli": reorder_milli, "active": _yes(rec.get("active") or "", "active"),
        "sold_by_weight": _yes(rec.get("sold_by_weight") or "no", "sold_by_weight")})
    values["barcodes"] = sorted(values["barcodes"])
    return Row(line, values.pop("sku"), values)


def decode(data: bytes) -> tuple[str, list[LineError]]:
    """The file's text, or (when it is not UTF-8) a message for each line that is not."""
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        pass
    errors: list[LineError] = []
    for number, line in enumerate(data.split(b"\n"), 1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as exc:
            errors.append(LineError(number, _not_utf8(line, exc.start)))
            if len(errors) >= MAX_REPORTED:
                break
    return "", errors


def _not_utf8(line: bytes, at: int) -> str:
    """What is wrong with the bytes at ``at``: a lone surrogate, or simply not UTF-8."""
    try:
        ch = line[at:at + 3].decode("utf-8", "surrogatepass")[:1]
    except UnicodeDecodeError:
        ch = ""
    what = describe(ch) if ch and is_control(ch) else f"byte 0x{line[at]:02X}"
    return (f"Not UTF-8 text ({what} at character {at + 1}); "
            "save the file as “CSV UTF-8” and import it again")


def _records(reader: csv.DictReader, report: ImportReport) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, record) of each row; a row the csv reader cannot read is reported on its line.
    Reading stops after :data:`MAX_REPORTED` problems, and the report says so."""
    while True:
        start = reader.line_num + 1
        if len(report.errors) >= MAX_REPORTED:
            report.errors.append(LineError(start, f"Stopped here after {MAX_REPORTED} problems: "
                                                  "fix these lines and import the file again"))
            return
        try:
            rec = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            report.rows += 1
            report.errors.append(LineError(start, _csv_error(exc)))
            continue
        report.rows += 1
        yield reader.line_num, rec


def _csv_error(exc: csv.Error) -> str:
    if "field limit" in str(exc):
        return (f"A field is longer than {csv.field_size_limit():,} characters; no product "
                "field is that long (is this the right file?)")
    return f"Not readable as CSV: {exc}"


def _header(reader: csv.DictReader) -> list[str] | LineError:
    try:
        header = [h.strip().lower() for h in (reader.fieldnames or [])]
    except csv.Error as exc:
        return LineError(1, _csv_error(exc))
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        return LineError(1, f"Missing {'column' if len(missing) == 1 else 'columns'}: {', '.join(missing)}")
    return header


def parse(text: str, currency: str, existing_codes: dict[str, str], existing_skus: dict[str, str]) -> tuple[list[Row], ImportReport]:
    """Read and validate every line; ``existing_*`` map barcode/sku to product id."""
    report = ImportReport()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = _header(reader)
    if isinstance(header, LineError):
        report.errors.append(header)
        return [], report
    reader.fieldnames = header
    rows: list[Row] = []
    sku_of = {pid: sku for sku, pid in existing_skus.items()}
    seen_sku: dict[str, int] = {}
    seen_code: dict[str, tuple[int, str]] = {}
    for line, rec in _records(reader, report):
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


def read_file(path: Path) -> bytes | LineError:
    """The bytes of the file at ``path``, or why it cannot be imported (too big, unreadable)."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return LineError(0, f"The file is {size // 2**20:,} MB; a catalog file is at most "
                                f"{MAX_FILE_BYTES // 2**20} MB")
        return path.read_bytes()
    except OSError as exc:
        return LineError(0, f"The file cannot be read: {exc.strerror or exc}")


def import_file(store: LocalStore, actor: Actor, path: Path, *,
                progress: Progress | None = None) -> ImportReport:
    """:func:`import_csv` of the file at ``path``; a file too big or unreadable is reported."""
    require(actor.role, Action.CATALOG_IMPORT)
    data = read_file(Path(path))
    if isinstance(data, LineError):
        return ImportReport(errors=[data])
    return import_csv(store, actor, data, source=Path(path).name, progress=progress)


def import_csv(store: LocalStore, actor: Actor, text: str | bytes, *, source: str = "catalog.csv",
               progress: Progress | None = None) -> ImportReport:
    """Validate the whole file (its bytes, or its text), then import it in one
    transaction (or not at all). Text that is not UTF-8 (a lone surrogate in a ``str``)
    is reported on its line like any other bad line."""
    require(actor.role, Action.CATALOG_IMPORT)
    data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    decoded, errors = decode(data)
    if errors:
        return ImportReport(errors=errors)
    settings = store.settings()
    with store.db.read() as s:
        codes = dict(s.execute(select(Barcode.code, Barcode.product_id)).all())
        skus = dict(s.execute(select(Product.sku, Product.id)).all())
    rows, report = parse(decoded, settings.currency, codes, skus)
    if not report.ok:
        return report
    total = len(rows)
    with mutation(store.db, store.device_id, actor, Action.CATALOG_IMPORT, bulk=True) as m:
        cats: dict[str, str | None] = {name: cid for name, cid in
                                       m.session.execute(select(Category.name, Category.id))}
        creates = [r for r in rows if r.sku not in skus]
        _update(m, [r for r in rows if r.sku in skus], skus, report, source, progress, total)
        _bulk_create(m, creates, cats, progress, total - len(creates), total)
        report.created = len(creates)
        digest = hashlib.sha256(data).hexdigest()
        m.audit("catalog", source, {"created": {"before": None, "after": report.created},
                                    "updated": {"before": None, "after": report.updated},
                                    "sha256": {"before": None, "after": digest}}, reason=f"import {source}")
        if not m.op_count:  # a file that changed nothing still leaves a trace in the outbox
            m.emit(OpType.PRODUCT_UPDATE, source, field_edits({}, f"import {source}: no changes"))
    return report


def _update(m: Mutation, rows: list[Row], skus: dict[str, str], report: ImportReport, source: str,
            progress: Progress | None, total: int) -> None:
    """Rows whose SKU exists edit that product (an operation only where something changed)."""
    for done, row in enumerate(rows):
        product = m.session.get_one(Product, skus[row.sku])
        edits = apply_edits(m, product, row.values)
        if edits:
            report.updated += 1
            m.emit(OpType.PRODUCT_UPDATE, product.id, field_edits(edits, f"import {source}"),
                   base_version=product.version)
        else:
            report.unchanged += 1
        _tick(progress, done + 1, total)


def _tick(progress: Progress | None, done: int, total: int) -> None:
    if progress and (done % 500 == 0 or done == total):
        progress(done, total)


def _bulk_create(m: Mutation, rows: list[Row], cats: dict[str, str | None], progress: Progress | None,
                 start: int, total: int) -> None:
    """Insert new products with core bulk inserts: a 100,000-row file stays fast."""
    products: list[dict[str, Any]] = []
    barcodes: list[dict[str, Any]] = []
    prices: list[dict[str, Any]] = []
    ops: list[dict[str, Any]] = []
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
        ops.append({"op_id": new_id(), "op_seq": m.device.op_seq, "type": OpType.PRODUCT_CREATE.value,
                    "entity_id": pid, "actor_id": m.actor.staff_id, "device_id": m.device.id,
                    "created_at": m.at, "base_version": 0, "format_version": OPERATION_FORMAT_VERSION,
                    "status": "pending", "attempts": 0, "updated_at": m.at,
                    "payload": wire_payload(OpType.PRODUCT_CREATE, ProductCreate(sku=row.sku, **v))})
        _tick(progress, start + i + 1, total)
    conn = m.session.connection()  # Core inserts: the ORM's per-row bookkeeping is not needed here
    for model, batch in ((Product, products), (Barcode, barcodes), (PriceChange, prices), (OutboxOperation, ops)):
        for chunk in _chunks(batch, 5000):
            conn.execute(insert(cast(Table, model.__table__)), chunk)
    m.bulk_emitted(len(ops))


def _chunks(items: list[dict[str, Any]], size: int) -> Iterable[list[dict[str, Any]]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _plain_number(value: int, scale: int) -> str:
    """23 for 230_000 ppm-of-percent, 2.5 for 2500 milli: no trailing zeros, no exponent."""
    text = f"{Decimal(value) / scale:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def neutralised(cell: str) -> str:
    """A text cell a spreadsheet will show and never run: ``'`` before a formula start."""
    return "'" + cell if cell.startswith(FORMULA_START) else cell


def _export_row(p: Product, currency: str) -> list[str]:
    text = {"sku": p.sku, "name": p.name, "barcodes": "|".join(sorted(b.code for b in p.barcodes)),
            "category": p.category.name if p.category else ""}
    cells = {c: neutralised(v) for c, v in text.items()}
    return [cells["sku"], cells["name"], format_plain(p.price, currency),
            _plain_number(p.tax_rate_ppm, 10_000), cells["barcodes"], cells["category"],
            _plain_number(p.reorder_level_milli, 1000),
            "yes" if p.active else "no", "yes" if p.sold_by_weight else "no"]


def export_csv(store: LocalStore, path: Path | None = None) -> str:
    """The whole catalog as CSV in the import format (round-trips through import); text
    cells that a spreadsheet would run as a formula are neutralised (:func:`neutralised`)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180; a CR in a cell is quoted
    writer.writerow(REQUIRED + OPTIONAL)
    currency = store.settings().currency
    with store.db.read() as s:
        for p in s.scalars(select(Product).order_by(Product.sku)):
            writer.writerow(_export_row(p, currency))
    text = out.getvalue()
    if path is not None:
        Path(path).write_text(text, encoding="utf-8", newline="")
    return text
