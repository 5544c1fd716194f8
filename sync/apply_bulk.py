"""Pulled products and stock levels: runs of them in a few statements, and the product
change a run cannot take, one at a time. :func:`sync.apply.apply_changes` hands each
run of consecutive ``product`` (or ``stock_level``) changes of a page here.

Why runs: a first sync brings the whole catalog. Applied one change at a time through
the ORM (a get with the barcodes, a category look-up and a flush per product, a ledger
query per stock level) it cost about 1 ms a change, minutes for a large catalog. Here a
run is looked up in a few queries and written with executemany.

The rules (versions, held entities, deleted products, categories made on demand, price
history, stock = server level + our unpushed deltas) are the same for a run and for a
product applied alone (:func:`apply_product`); a product's fields are read from its
change in one place (:func:`product_fields`). The products' search index (``products_fts``)
follows the rows by its triggers, as it does for the ORM; no audit entry or outbox
operation is written for a pulled change, as before.

A product change whose effect reaches beyond its own rows is *tangled* and goes
through the page's per-change path (:func:`apply_product`, or deferred), after the
batch before it is written: its entity has
unpushed operations (it is deferred), it appears twice in the run, its SKU is held
by another product or wanted by another change of the run, or one of its barcodes
is. Such a change cannot make a simple one of the same run wrong: the simple ones
touch only their own product, SKU and barcodes, which no other change of the run
names. After any Core write the session is emptied (``expunge_all``), so the
per-change path never reads a stale ORM object.
"""

from __future__ import annotations

import itertools
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from app.domain.ids import new_id
from app.domain.operations import OpType
from app.store.models import (
    Barcode,
    Category,
    OutboxOperation,
    PriceChange,
    Product,
    StockMovement,
)
from app.store.rows import driver_cursor
from sync.apply_context import ApplyContext, as_datetime, is_stale, stored_time
from sync.protocol import Change

Hook = Callable[[Change], None]
One = Callable[[Session, ApplyContext, Change], None]
CATEGORY_NS = uuid.UUID("5d1c7f0e-7a43-4c38-9a57-2f1bb3f6a0c1")
CHUNK = 500  # ids per IN (...) list
PRESENT_CHUNK = 900  # ids per IN (...) list of a driver query (SQLite allows 32,766)
PRODUCTS = Product.__table__
BARCODES = Barcode.__table__
CATEGORIES = Category.__table__
PRICES = PriceChange.__table__
MOVEMENTS = StockMovement.__table__
PRODUCT_FIELDS = ("sku", "name", "category_id", "price", "tax_rate_ppm", "active",
                  "stock_tracked", "sold_by_weight", "reorder_level_milli", "version",
                  "updated_at")
REQUIRED = ("sku", "name", "price", "tax_rate_ppm")


class Page:
    """The session, the counters, the per-change path (``one``: sync/apply.py, which
    defers a held entity) and what is looked up once per page."""

    def __init__(self, s: Session, ctx: ApplyContext, hook: Hook | None, one: One) -> None:
        self.s, self.ctx, self.hook, self._one = s, ctx, hook, one
        self._unpushed: dict[str, int] | None = None

    def seen(self, change: Change) -> None:
        if self.hook is not None:
            self.hook(change)

    def one(self, change: Change) -> None:
        """The per-change path (sync/apply.py)."""
        self.seen(change)
        self._one(self.s, self.ctx, change)

    def write(self, statements: Iterable[tuple[Any, list[dict[str, Any]]]]) -> None:
        """Run executemany statements after the ORM's pending rows; then forget every ORM
        object, which the statements may have made stale."""
        todo = [(stmt, rows) for stmt, rows in statements if rows]
        if not todo:
            return
        self.s.flush()
        for stmt, rows in todo:
            self.s.execute(stmt, rows)
        self.s.expunge_all()

    def unpushed(self) -> dict[str, int]:
        if self._unpushed is None:
            self._unpushed = unpushed_deltas(self.s)
        return self._unpushed


def _chunks(values: Iterable[str]) -> Iterator[list[str]]:
    it = iter(dict.fromkeys(values))
    while chunk := list(itertools.islice(it, CHUNK)):
        yield chunk


def read_rows(s: Session, columns: list[Any], key: Any, values: Iterable[str]) -> list[Any]:
    """``columns`` of the rows whose ``key`` is one of ``values`` (in chunks of CHUNK)."""
    out: list[Any] = []
    for chunk in _chunks(values):
        out.extend(s.execute(select(*columns).where(key.in_(chunk))).all())
    return out


def fetch(s: Session, table: Any, columns: tuple[str, ...], key: str,
          values: Iterable[str]) -> list[tuple[Any, ...]]:
    """``columns`` of the rows of ``table`` whose ``key`` is one of ``values``: plain
    ``IN`` queries on the session's driver cursor (a run's look-ups, thousands of ids a
    page; compiled by SQLAlchemy they cost about as much as the inserts). The values come
    as the driver reads them: for text and integer columns only. Names come from the table."""
    out: list[tuple[Any, ...]] = []
    names = ", ".join(f'"{table.c[c].name}"' for c in columns)
    name, col = table.name, table.c[key].name
    cur = driver_cursor(s)
    try:
        it = iter(dict.fromkeys(values))
        while chunk := list(itertools.islice(it, PRESENT_CHUNK)):
            marks = ",".join("?" * len(chunk))
            out.extend(cur.execute(
                f'SELECT {names} FROM "{name}" WHERE "{col}" IN ({marks})', chunk))  # noqa: S608
    finally:
        cur.close()
    return out


def present(s: Session, table: Any, column: str, values: Iterable[str]) -> set[str]:
    """Which of ``values`` are in ``table.column`` (:func:`fetch`)."""
    return {v for (v,) in fetch(s, table, (column,), column, values)}


class Inserts:
    """An INSERT of whole rows given as tuples in the table's column order, on the
    session's driver cursor: what a run writes, built straight from its changes (through
    dicts and the columns' bind processors, app/store/rows.py, the rows of a 100,000
    change pull cost about as much Python as SQLite took to insert them). The values
    must be as the ORM stores them: text, integers, booleans, None, and datetimes as
    :func:`sync.apply_context.stored_time` gives them. ``columns`` is checked against
    the table when the module loads (a column added by a migration fails loudly)."""

    def __init__(self, table: Any, columns: tuple[str, ...]) -> None:
        names = tuple(c.name for c in table.columns)
        if names != columns:
            raise RuntimeError(f"{table.name} has the columns {names}, not {columns}")
        quoted = ", ".join(f'"{n}"' for n in names)
        marks = ", ".join("?" * len(names))
        self.sql = f'INSERT INTO "{table.name}" ({quoted}) VALUES ({marks})'  # noqa: S608

    def write(self, s: Session, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        cur = driver_cursor(s)
        try:
            cur.executemany(self.sql, rows)
        finally:
            cur.close()


PRODUCT_INSERT = Inserts(PRODUCTS, ("id", *PRODUCT_FIELDS))
BARCODE_INSERT = Inserts(BARCODES, ("code", "product_id"))


# ---------------------------------------------------------------- products


def category_id(name: str) -> str:
    """The same category name gets the same id on every terminal."""
    return str(uuid.uuid5(CATEGORY_NS, name))


def product_fields(c: Change, category: str | None) -> dict[str, Any]:
    """A pulled product's columns as stored here (``category``: its category's id)."""
    d = c.data
    return {"sku": d["sku"], "name": d["name"], "category_id": category,
            "price": d["price"], "tax_rate_ppm": d["tax_rate_ppm"],
            "active": bool(d.get("active", True)) and not (c.deleted or d.get("deleted")),
            "stock_tracked": bool(d.get("stock_tracked", True)),
            "sold_by_weight": bool(d.get("sold_by_weight", False)),
            "reorder_level_milli": int(d.get("reorder_level_milli") or 0),
            "version": c.version,
            "updated_at": as_datetime(d.get("updated_at")) or datetime.now(UTC)}


def _category(s: Session, name: str | None) -> str | None:
    if not name:
        return None
    cat = s.scalars(select(Category).where(Category.name == name)).first()
    if cat is None:
        cat = Category(id=category_id(name), name=name, version=1)
        s.add(cat)
        s.flush()
    return cat.id


def apply_product(s: Session, ctx: ApplyContext, c: Change) -> bool:
    """One product change through the ORM: what a run cannot take (a tangled change)."""
    d = c.data
    p = s.get(Product, c.entity_id)
    if p is not None and is_stale(p.version, c):
        return False
    clash = s.scalars(select(Product).where(Product.sku == d["sku"], Product.id != c.entity_id)).first()
    if clash is not None:  # a local-only product holds the SKU: keep it, visibly renamed
        clash.sku = f"{clash.sku}#{clash.id[:8]}"
        s.flush()
    row = product_fields(c, _category(s, d.get("category")))
    if p is None:
        p = Product(id=c.entity_id, **row)
        s.add(p)
    elif p.price != row["price"]:
        s.add(PriceChange(id=new_id(), product_id=p.id, old_price=p.price, new_price=row["price"],
                          actor_id=None, changed_at=row["updated_at"]))
    for name, value in row.items():
        setattr(p, name, value)
    s.flush()
    wanted = _wanted_codes(c)
    # Read from the table, not ``p.barcodes``: that collection, loaded earlier in this
    # page's transaction, misses codes added or moved since (by row, not by collection).
    for bc in s.scalars(select(Barcode).where(Barcode.product_id == p.id)).all():
        if bc.code not in wanted:
            s.delete(bc)
    s.flush()
    for code in wanted:
        bc = s.get(Barcode, code)
        if bc is None:
            s.add(Barcode(code=code, product_id=p.id))
        elif bc.product_id != p.id:
            bc.product_id = p.id
    return True


def _wanted_codes(c: Change) -> list[str]:
    return [str(b) for b in c.data.get("barcodes") or []]


class _Catalog:
    """What a run of product changes needs from the store, read in a few queries."""

    def __init__(self, s: Session, run: list[Change]) -> None:
        ids = [c.entity_id for c in run]
        held = present(s, PRODUCTS, "id", ids)  # the whole rows of those only (new: none)
        self.products = {r.id: r for r in read_rows(s, [PRODUCTS.c.id, *(
            PRODUCTS.c[f] for f in PRODUCT_FIELDS)], PRODUCTS.c.id, held)} if held else {}
        self.codes_of: dict[str, list[str]] = {}
        for code, pid in fetch(s, BARCODES, ("code", "product_id"), "product_id", ids):
            self.codes_of.setdefault(pid, []).append(code)
        skus = [c.data["sku"] for c in run if isinstance(c.data.get("sku"), str)]
        self.sku_holder = dict(fetch(s, PRODUCTS, ("sku", "id"), "sku", skus))
        wanted = [code for c in run for code in _wanted_codes(c)]
        self.code_holder = dict(fetch(s, BARCODES, ("code", "product_id"), "code", wanted))
        names = [c.data["category"] for c in run if c.data.get("category")]
        self.categories = {name: cid for cid, name in fetch(
            s, CATEGORIES, ("id", "name"), "name", names)}
        self.ids = Counter(ids)
        self.skus = Counter(c.data.get("sku") for c in run)
        self.codes = Counter(code for c in run for code in set(_wanted_codes(c)))

    def tangled(self, c: Change, held: set[str]) -> bool:
        """Whether the change must go through the per-change path (see the module doc)."""
        d, pid = c.data, c.entity_id
        if pid in held or self.ids[pid] > 1 or any(k not in d for k in REQUIRED):
            return True
        sku = d["sku"]
        if not isinstance(sku, str) or self.skus[sku] > 1 or self.sku_holder.get(sku, pid) != pid:
            return True
        codes = _wanted_codes(c)
        return len(set(codes)) != len(codes) or any(
            self.codes[code] > 1 or self.code_holder.get(code, pid) != pid for code in codes)


class _ProductBatch:
    """Rows to write for the simple product changes met so far."""

    def __init__(self, catalog: _Catalog) -> None:
        self.catalog = catalog
        self.new_categories: dict[str, str] = {}
        self.inserts: list[tuple[Any, ...]] = []
        self.updates: list[dict[str, Any]] = []  # name or SKU changed (the FTS row too)
        self.updates_same_text: list[dict[str, Any]] = []
        self.prices: list[dict[str, Any]] = []
        self.code_deletes: list[dict[str, Any]] = []
        self.code_inserts: list[tuple[str, str]] = []

    def category(self, name: str | None) -> str | None:
        if not name:
            return None
        cid = self.catalog.categories.get(name)
        if cid is None:
            cid = self.new_categories.setdefault(name, category_id(name))
        return cid

    def add(self, c: Change) -> None:
        pid = c.entity_id
        row = product_fields(c, self.category(c.data.get("category")))
        updated_at = row["updated_at"]
        old = self.catalog.products.get(pid)
        if old is None:
            self.inserts.append((pid, *(row[f] for f in PRODUCT_FIELDS[:-1]),
                                 stored_time(updated_at)))
        else:
            if old.price != row["price"]:
                self.prices.append({"id": new_id(), "product_id": pid, "old_price": old.price,
                                    "new_price": row["price"], "actor_id": None,
                                    "changed_at": updated_at})
            changed = {k: v for k, v in row.items() if not _same(getattr(old, k), v)}
            if "sku" in changed or "name" in changed:
                self.updates.append({"_id": pid, **row})
            elif changed:
                self.updates_same_text.append(
                    {"_id": pid, **{k: v for k, v in row.items() if k not in ("sku", "name")}})
        wanted = _wanted_codes(c)
        held = self.catalog.codes_of.get(pid, [])
        self.code_deletes.extend({"_code": code, "_pid": pid} for code in held if code not in wanted)
        self.code_inserts.extend((code, pid) for code in wanted
                                 if self.catalog.code_holder.get(code) is None)

    def write(self, page: Page) -> None:
        """Write the batch (categories first: a tangled change may have made one meanwhile)."""
        if self.new_categories:
            made = {name for (name,) in read_rows(page.s, [CATEGORIES.c.name], CATEGORIES.c.name,
                                              self.new_categories)}
            page.write([(insert(CATEGORIES), [
                {"id": cid, "name": name, "version": 1}
                for name, cid in self.new_categories.items() if name not in made])])
            self.catalog.categories.update(self.new_categories)
            self.new_categories = {}
        by_id = update(PRODUCTS).where(PRODUCTS.c.id == bindparam("_id"))
        if self.inserts or self.code_inserts:
            page.s.flush()
            PRODUCT_INSERT.write(page.s, self.inserts)
            page.s.expunge_all()
        page.write([
            (by_id, self.updates),
            (by_id, self.updates_same_text),
            (insert(PRICES), self.prices),
            (delete(BARCODES).where(BARCODES.c.code == bindparam("_code"),
                                    BARCODES.c.product_id == bindparam("_pid")), self.code_deletes),
        ])
        BARCODE_INSERT.write(page.s, self.code_inserts)  # after the deletes, as before
        for rows in (self.inserts, self.updates, self.updates_same_text, self.prices,
                     self.code_deletes, self.code_inserts):
            rows.clear()


def _same(old: Any, new: Any) -> bool:
    """Equal as stored: SQLite keeps a datetime's wall time without its offset."""
    if isinstance(new, datetime) and isinstance(old, datetime):
        return old.replace(tzinfo=None) == new.replace(tzinfo=None)
    return bool(old == new) and type(old) is type(new)


def apply_products(page: Page, run: list[Change]) -> None:
    """A run of product changes: the simple ones in a batch, a tangled one alone."""
    page.s.flush()
    catalog = _Catalog(page.s, run)
    batch = _ProductBatch(catalog)
    for c in run:
        if catalog.tangled(c, page.ctx.pending):
            batch.write(page)
            page.one(c)
            continue
        page.seen(c)
        old = catalog.products.get(c.entity_id)
        if old is not None and is_stale(old.version, c):
            page.ctx.skipped += 1
            continue
        batch.add(c)
        page.ctx.applied += 1
    batch.write(page)


# ---------------------------------------------------------------- stock levels


def unpushed_deltas(s: Session) -> dict[str, int]:
    """Per product, the stock deltas of this till the server has not seen yet (its
    pending sales and adjustments), for all products at once."""
    pending = s.scalars(select(OutboxOperation).where(
        OutboxOperation.status == "pending",
        OutboxOperation.type.in_([OpType.ORDER_CREATE.value, OpType.STOCK_ADJUST.value])))
    order_ids: set[str] = set()
    movements_of: dict[str, set[Any]] = {}
    for op in pending:
        if op.type == OpType.ORDER_CREATE:
            order_ids.add(op.entity_id)
        else:
            payload = op.payload or {}
            movements_of.setdefault(payload.get("product_id"), set()).add(payload.get("movement_id"))
    columns = [MOVEMENTS.c.id, MOVEMENTS.c.product_id, MOVEMENTS.c.order_id,
               MOVEMENTS.c.qty_delta_milli]
    named = {m for ids in movements_of.values() for m in ids if isinstance(m, str)}
    found = {r.id: r for r in itertools.chain(
        read_rows(s, columns, MOVEMENTS.c.order_id, order_ids),
        read_rows(s, columns, MOVEMENTS.c.id, named))}
    out: dict[str, int] = {}
    for r in found.values():
        if r.order_id in order_ids or r.id in movements_of.get(r.product_id, ()):
            out[r.product_id] = out.get(r.product_id, 0) + int(r.qty_delta_milli)
    return out


def apply_levels(page: Page, run: list[Change]) -> None:
    """Snapshot stock levels: local on-hand = server level + our unpushed deltas, by one
    ledger entry per product whose on-hand differs (none for an unknown product)."""
    s = page.s
    s.flush()
    pids = [c.data.get("product_id") or c.entity_id for c in run]
    known = {pid for (pid,) in read_rows(s, [PRODUCTS.c.id], PRODUCTS.c.id, pids)}
    on_hand: dict[str, int] = {}
    for chunk in _chunks(pids):
        on_hand.update((pid, int(total or 0)) for pid, total in s.execute(
            select(MOVEMENTS.c.product_id, func.sum(MOVEMENTS.c.qty_delta_milli))
            .where(MOVEMENTS.c.product_id.in_(chunk)).group_by(MOVEMENTS.c.product_id)))
    unpushed = page.unpushed()
    rows: list[dict[str, Any]] = []
    for c, pid in zip(run, pids, strict=True):
        page.seen(c)
        if pid not in known:
            page.ctx.skipped += 1
            continue
        target = int(c.data.get("qty_on_hand_milli") or 0) + unpushed.get(pid, 0)
        delta = target - on_hand.get(pid, 0)
        if delta:
            rows.append({"id": new_id(), "product_id": pid, "kind": "adjust",
                         "qty_delta_milli": delta, "reason": "snapshot: server stock level",
                         "reference": None, "order_id": None, "actor_id": None,
                         "device_id": None, "created_at": datetime.now(UTC), "synced": True})
            on_hand[pid] = target
        page.ctx.applied += 1
    page.write([(insert(MOVEMENTS), rows)])
