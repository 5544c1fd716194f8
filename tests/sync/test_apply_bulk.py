"""A page applied whole (runs of products and stock levels in a few statements,
sync/apply_bulk.py) gives the same local state as its changes applied one at a time
(each alone: a product by the ORM, sync/apply_bulk.py ``apply_product``, which a
page uses for a tangled one; a stock level as a run of one): the same pages applied both ways into two copies of one terminal store
(real SQLite files) are compared table by table, search index included. Local only:
the changes are built here as the server sends them."""

from __future__ import annotations

import random
import shutil
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.domain.cart import Cart, CartLine
from app.domain.permissions import Role
from app.domain.tender import Method, Tender
from app.services import catalog, catalog_edit, inventory
from app.services.sales import record_sale
from app.store.local import LocalStore, open_store
from app.store.models import (
    AuditEntry,
    Barcode,
    Category,
    OutboxOperation,
    PriceChange,
    Product,
    StockMovement,
    SyncState,
)
from app.store.unit_of_work import Actor
from sync import state
from sync.apply import ApplyContext, _apply_one, apply_changes, local_on_hand, pending_entities
from sync.apply_bulk import unpushed_deltas
from sync.protocol import Change

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
STOCK = Actor("staff-stock", "Stock person", Role.STOCK)
MANAGER = Actor("staff-manager", "Manager", Role.MANAGER)
CASHIER = Actor("staff-cashier", "Cashier", Role.CASHIER)


def pid(n: int | str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"product/{n}"))


def product(n: int | str, sku: str, name: str, *, version: int = 1, price: int = 100,
            category: str | None = "Drinks", barcodes: tuple[str, ...] = (),
            deleted: bool = False, active: bool = True, minutes: int = 0) -> Change:
    data = {"id": pid(n), "sku": sku, "name": name, "category": category, "price": price,
            "tax_rate_ppm": 200_000, "barcodes": list(barcodes), "active": active,
            "stock_tracked": True, "reorder_level_milli": 500 * version,
            "sold_by_weight": False, "deleted": deleted, "version": version,
            "updated_at": (T0 + timedelta(minutes=minutes)).isoformat()}
    return Change(position=1, entity_type="product", entity_id=pid(n), version=version,
                  deleted=deleted, data=data)


def level(n: int | str, qty_milli: int) -> Change:
    return Change(position=1, entity_type="stock_level", entity_id=pid(n), version=1,
                  data={"store_id": "store", "product_id": pid(n), "qty_on_hand_milli": qty_milli})


def staff(n: int, version: int = 1) -> Change:
    sid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"staff/{n}"))
    return Change(position=1, entity_type="staff", entity_id=sid, version=version,
                  data={"id": sid, "name": f"Person {n}", "code": f"P{n}", "role": "cashier",
                        "active": True, "pin_hash": "x", "version": version})


def one_by_one(s: Session, ctx: ApplyContext, changes: list[Change]) -> None:
    """Each change alone; a product by the per-change step (the ORM), not a run of one."""
    for c in changes:
        if c.entity_type == "product":
            _apply_one(s, ctx, c)
        else:
            apply_changes(s, ctx, [c])


def apply_per_change(store: LocalStore, changes: list[Change]) -> tuple[int, int, int]:
    with store.db.write() as s:
        ctx = ApplyContext(store.device_id, store.cipher, pending_entities(s))
        one_by_one(s, ctx, changes)
    return ctx.applied, ctx.skipped, ctx.skipped_pending


def apply_bulk(store: LocalStore, changes: list[Change]) -> tuple[int, int, int]:
    with store.db.write() as s:
        ctx = ApplyContext(store.device_id, store.cipher, pending_entities(s))
        apply_changes(s, ctx, changes)
    return ctx.applied, ctx.skipped, ctx.skipped_pending


def local_state(store: LocalStore) -> dict[str, Any]:
    """Every table a pulled product or stock level can touch, without made-up ids/times."""
    with store.db.read() as s:
        def rows(*cols: Any) -> list[tuple[Any, ...]]:
            return sorted(tuple(r) for r in s.execute(select(*cols)))

        return {
            "products": rows(*Product.__table__.c),
            "barcodes": rows(Barcode.code, Barcode.product_id),
            "categories": rows(Category.id, Category.name, Category.version),
            "on_hand": sorted(tuple(r) for r in s.execute(
                select(StockMovement.product_id, func.sum(StockMovement.qty_delta_milli))
                .group_by(StockMovement.product_id))),
            "movements": sorted(
                (m.product_id, m.kind, m.qty_delta_milli, m.reason or "", m.order_id or "",
                 m.synced) for m in s.scalars(select(StockMovement))),
            "prices": rows(PriceChange.product_id, PriceChange.old_price, PriceChange.new_price,
                           PriceChange.actor_id, PriceChange.changed_at),
            "sync_state": rows(SyncState.key, SyncState.value),
            "outbox": rows(OutboxOperation.op_id, OutboxOperation.status),
            "audit": s.scalar(select(func.count()).select_from(AuditEntry)),
            "fts": sorted(tuple(r) for r in s.execute(
                text("SELECT product_id, name, sku FROM products_fts"))),
        }


def twins(base: LocalStore, tmp_path: Path) -> tuple[LocalStore, LocalStore]:
    """Two copies of ``base`` (closed here): one for each path."""
    base.close()
    shutil.copytree(base.data_dir, tmp_path / "per-change")
    shutil.copytree(base.data_dir, tmp_path / "bulk")
    return open_store(tmp_path / "per-change"), open_store(tmp_path / "bulk")


# ------------------------------------------------------------------ a till with local work


FIRST_PAGE = [
    product(1, "TEA-1", "Green tea", barcodes=("5000000000011",)),
    product(2, "TEA-2", "Black tea", price=250, barcodes=("5000000000028", "5000000000035")),
    product(3, "COF-1", "Coffee beans", category="Coffee", barcodes=("5000000000042",)),
    product(4, "COF-2", "Ground coffee", category="Coffee", barcodes=("5000000000059",)),
    product(5, "BIS-1", "Biscuits", category=None),
    product(6, "BIS-2", "Shortbread", barcodes=("5000000000066",)),
    level(1, 10_000), level(2, 20_000), level(3, 30_000), level(4, 4_000),
]


@pytest.fixture
def till(tmp_path: Path) -> LocalStore:
    """A terminal that pulled FIRST_PAGE, then did local work not pushed yet: an edit of
    product 1, stock received for product 2, a sale of product 3, a local-only product
    holding the SKU a pulled product will bring, in a category made on the till."""
    store = open_store(tmp_path / "base")
    apply_per_change(store, FIRST_PAGE)
    catalog_edit.update_product(store, MANAGER, pid(1), {"name": "Green tea (local)"})
    inventory.receive(store, STOCK, pid(2), 5_000, "PO-7")
    cart = Cart(tax_inclusive=True)
    cart.add(CartLine(product_id=pid(3), sku="COF-1", name="Coffee beans", unit_price=900,
                      tax_rate_ppm=200_000, qty_milli=2_000))
    record_sale(store, CASHIER, cart, [Tender(Method.CASH, cart.totals().total)])
    catalog_edit.quick_add(store, STOCK, catalog_edit.NewProduct(
        "LOCAL-1", "Till-made jam", 300, 200_000, (), "Till shelf"))
    return store


def second_page() -> list[Change]:
    return [
        product(1, "TEA-1", "Green tea v2", version=2),  # held: our edit is not pushed
        product(2, "TEA-2", "Black tea, loose", version=2, price=275, minutes=5,
                barcodes=("5000000000028",)),  # price history, a barcode dropped, FTS
        product(3, "COF-1", "Coffee beans", category="Coffee",
                barcodes=("5000000000042",)),  # the same again: nothing to write
        product(5, "BIS-1", "Biscuits", version=0),  # older than ours: ignored
        product(6, "BIS-2", "Shortbread", version=2, deleted=True, active=False),
        staff(1),
        product(10, "NEW-1", "Oat milk", category="Dairy", barcodes=("5000000000073",)),
        product(11, "NEW-2", "Soy milk", category="Till shelf"),  # the till's own category
        product(12, "NEW-3", "Rice milk", category="Dairy",
                barcodes=("5000000000059",)),  # the barcode moves from product 4
        product(13, "LOCAL-1", "Server jam"),  # the local-only product holds this SKU
        product(14, "NEW-5", "Almond milk", version=1, price=180),
        product(14, "NEW-5", "Almond milk", version=2, price=190),  # twice in one page
        product(15, "NEW-6", "Hazelnut milk", category="Nuts", active=False),
        level(2, 21_000),  # our +5 received is not pushed yet
        level(3, 29_000),  # nor our sale of 2
        level(1, 11_000), level(4, 4_000), level(10, 7_000), level(12, 0),
        level("missing", 1_000),  # no such product here: skipped
        Change(position=1, entity_type="gizmo", entity_id="g1", version=1, data={}),
        product(16, "NEW-7", "Tiger nut milk", category="Nuts", barcodes=("5000000000080",)),
    ]


def test_bulk_path_gives_the_same_local_state_as_the_per_change_path(
        till: LocalStore, tmp_path: Path) -> None:
    a, b = twins(till, tmp_path)
    try:
        page = second_page()
        counts_a, counts_b = apply_per_change(a, page), apply_bulk(b, page)
        assert counts_a == counts_b
        state_a, state_b = local_state(a), local_state(b)
        for key in state_a:
            assert state_a[key] == state_b[key], key
        # ... and that state is the one the rules ask for (checked on the bulk copy)
        with b.db.read() as s:
            assert s.get(Product, pid(1)).name == "Green tea (local)"  # not overwritten
            assert state.get_state(s, state.DEFERRED_PREFIX + pid(1)) is not None
            assert local_on_hand(s, pid(2)) == 21_000 + 5_000
            assert local_on_hand(s, pid(3)) == 29_000 - 2_000
            assert local_on_hand(s, pid(10)) == 7_000
            assert s.get(Barcode, "5000000000059").product_id == pid(12)
            assert s.get(Barcode, "5000000000035") is None
            assert s.get(Product, pid(5)).version == 1
            assert not s.get(Product, pid(6)).active and not s.get(Product, pid(15)).active
            assert s.get(Product, pid(14)).price == 190
            local = s.scalars(select(Product).where(Product.name == "Till-made jam")).one()
            assert local.sku.startswith("LOCAL-1#")
            till_shelf = s.scalars(select(Category).where(Category.name == "Till shelf")).one()
            assert s.get(Product, pid(11)).category_id == till_shelf.id
            prices = s.scalars(select(PriceChange).where(PriceChange.product_id == pid(2))).all()
            assert [(p.old_price, p.new_price) for p in prices] == [(250, 275)]
            outbox = s.scalar(select(func.count()).select_from(OutboxOperation))
        assert outbox == 5  # the till's own four operations and the shift its sale opened;
        # nothing written for pulled ones
        # applying the page again is harmless both ways, and still the same
        assert apply_per_change(a, page) == apply_bulk(b, page)
        assert local_state(a) == local_state(b)
    finally:
        a.close()
        b.close()


def test_search_finds_pulled_products_and_not_deleted_ones(till: LocalStore, tmp_path: Path) -> None:
    a, b = twins(till, tmp_path)
    try:
        apply_bulk(b, second_page())
        assert [r.id for r in catalog.search(b, "oat mi")] == [pid(10)]
        assert [r.id for r in catalog.search(b, "NEW-7")] == [pid(16)]
        assert [r.id for r in catalog.search(b, "loose")] == [pid(2)]  # renamed: index follows
        assert catalog.search(b, "shortbread") == []  # deleted on the server
        assert catalog.search(b, "Server jam")[0].id == pid(13)
        with b.db.read() as s:
            fts = s.execute(text("SELECT count(*) FROM products_fts")).scalar()
            assert fts == s.scalar(select(func.count()).select_from(Product))
    finally:
        a.close()
        b.close()


def test_unpushed_deltas_are_the_pending_sales_and_adjustments(till: LocalStore) -> None:
    with till.db.read() as s:
        assert unpushed_deltas(s) == {pid(2): 5_000, pid(3): -2_000}
    till.close()


def test_a_hook_sees_every_change_in_page_order(tmp_path: Path) -> None:
    store = open_store(tmp_path / "t")
    try:
        seen: list[Change] = []
        page = FIRST_PAGE + second_page()
        with store.db.write() as s:
            apply_changes(s, ApplyContext(store.device_id, store.cipher, set()), page, seen.append)
        assert seen == page
    finally:
        store.close()


# ------------------------------------------------------------------ random pages


def random_pages(rng: random.Random) -> list[list[Change]]:
    """Pages over a small pool of ids, SKUs and barcodes, so changes collide often: SKU
    swaps, barcodes moving, the same product twice, older versions, deletions."""
    pages = []
    for _ in range(4):
        page: list[Change] = []
        for _ in range(rng.randint(5, 40)):
            roll = rng.random()
            n = rng.randint(0, 9)
            if roll < 0.15:
                page.append(level(n, rng.choice((0, 1_000, 5_000))))
            elif roll < 0.2:
                page.append(staff(rng.randint(0, 2), rng.randint(1, 3)))
            else:
                codes = rng.sample([f"C{i}" for i in range(12)], rng.randint(0, 3))
                page.append(product(
                    n, f"S{rng.randint(0, 7)}", rng.choice(("Tea", "Coffee", "Milk")) + f" {n}",
                    version=rng.randint(1, 4), price=rng.choice((100, 150)),
                    category=rng.choice(("A", "B", None)), barcodes=tuple(codes),
                    deleted=rng.random() < 0.1, minutes=rng.randint(0, 3)))
        pages.append(page)
    return pages


@pytest.mark.parametrize("seed", range(12))
def test_random_pages_give_the_same_state_both_ways(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    base = open_store(tmp_path / "base")
    held = {pid(rng.randint(0, 9))}
    a, b = twins(base, tmp_path)
    try:
        for page in random_pages(rng):
            with a.db.write() as s:
                ctx_a = ApplyContext(a.device_id, a.cipher, held)
                one_by_one(s, ctx_a, page)
            with b.db.write() as s:
                ctx_b = ApplyContext(b.device_id, b.cipher, held)
                apply_changes(s, ctx_b, page)
            assert (ctx_a.applied, ctx_a.skipped, ctx_a.skipped_pending) == (
                ctx_b.applied, ctx_b.skipped, ctx_b.skipped_pending)
            assert local_state(a) == local_state(b)
    finally:
        a.close()
        b.close()


def test_a_product_twice_in_one_page_ends_with_the_last_barcodes(tmp_path: Path) -> None:
    """A barcode added by one change and dropped by the next is gone (the per-change
    path once kept it: it read the product's barcode collection, stale by then)."""
    a, b = twins(open_store(tmp_path / "base"), tmp_path)
    try:
        page = [product(1, "TEA-1", "Tea", barcodes=("5000000000011",)),
                product(1, "TEA-1", "Tea", version=2, barcodes=("5000000000028",)),
                product(2, "TEA-2", "Tea 2"),
                product(1, "TEA-1", "Tea", version=3, barcodes=("5000000000035",))]
        apply_per_change(a, page)
        apply_bulk(b, page)
        for store in (a, b):
            with store.db.read() as s:
                assert s.scalars(select(Barcode.code)).all() == ["5000000000035"]
        assert local_state(a) == local_state(b)
    finally:
        a.close()
        b.close()


# ------------------------------------------------------------------ stock movements in runs


def movement(mid: str, n: int | str, delta: int, *, kind: str = "sale",
             device: str | None = "other-till") -> Change:
    return Change(position=1, entity_type="stock_movement", entity_id=mid, version=1,
                  origin_device_id=device,
                  data={"id": mid, "product_id": pid(n), "kind": kind, "qty_delta_milli": delta,
                        "reason": None, "reference": "R-1", "actor_id": "staff-x",
                        "device_id": device, "created_at": T0.isoformat()})


def test_movement_runs_equal_the_per_change_path(tmp_path: Path) -> None:
    """Movements (sync/apply_movements.py) among orders, run by run as a page has them, and
    one at a time through apply_movement: the same ledger, counts and hook calls. The page
    has a movement twice, this till's own sale (skipped), its own count the server set
    again (updated), a compensation of its own (taken), an unknown product (skipped)."""
    base = open_store(tmp_path / "base")
    apply_per_change(base, FIRST_PAGE)
    with base.db.write() as s:
        s.add(StockMovement(id="own-count", product_id=pid(1), kind="count", qty_delta_milli=-500,
                            device_id=base.device_id, created_at=T0, synced=False))
    me = base.device_id
    page = [
        movement("m1", 1, -1_000), movement("m2", 2, -2_000),
        movement("m1", 1, -1_000),  # twice in one page
        movement("mine", 3, -3_000, device=me),  # our own sale: in our ledger already
        movement("own-count", 1, -700, kind="count", device=me),  # the server's count of ours
        movement("fix", 4, 250, kind="count_fix", device=me),  # a compensation: taken
        movement("m5", "missing", -1_000),  # a product this till does not know
        movement("m6", 2, 4_000, kind="receive"),
    ]
    a, b = twins(base, tmp_path)
    try:
        with a.db.write() as s:
            ctx_a = ApplyContext(a.device_id, a.cipher, set())
            for c in page:
                _apply_one(s, ctx_a, c)
        seen: list[Change] = []
        with b.db.write() as s:
            ctx_b = ApplyContext(b.device_id, b.cipher, set())
            apply_changes(s, ctx_b, page, seen.append)
        assert (ctx_a.applied, ctx_a.skipped) == (ctx_b.applied, ctx_b.skipped) == (5, 3)
        assert sorted(map(id, seen)) == sorted(map(id, page))
        assert local_state(a) == local_state(b)
        with b.db.read() as s:
            assert s.get(StockMovement, "own-count").qty_delta_milli == -700
            assert s.get(StockMovement, "mine") is None and s.get(StockMovement, "m5") is None
    finally:
        a.close()
        b.close()
