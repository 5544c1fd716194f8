"""Pulled pages give the same local store whatever their size: a varied store (products
with codes and a deletion, stock, staff, orders with payments, a payment plan, refunds,
a deleted order, approvals, a customer, a conflict) made by a real till against the real
server, then pulled by fresh tills through the feed in pages of 1, 7 and 1,000 changes
and through the snapshot in pages of 3 and 1,000, with and without unpushed local
operations on the pulled entities. Every table is compared row by row; ids and times
made by each till itself are masked (they differ from till to till by design).

Why: the page is the unit the terminal applies (sync/pull.py), in runs where it can
(products, stock levels, orders); the feed is also applied change by change through
the per-change appliers (the ORM), which the runs must equal."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, text, update

from app.domain.cart import Cart, CartLine
from app.domain.permissions import Role
from app.domain.schedule import Interval, down_payment_amount, make_plan
from app.domain.tender import Method, Tender
from app.services import approvals, catalog_edit, inventory
from app.services.customers import CustomerDetails, decrypt
from app.services.sales import record_payment, record_sale
from app.store.base import Base
from app.store.models import Customer, OrderLine, OutboxOperation, Product
from sync import state
from sync.apply import ApplyContext, _apply_one, pending_entities
from sync.protocol import Change
from sync.pull import apply_held_back, pull_changes, resync_from_snapshot
from tests.server.support import line
from tests.sync.conftest import Till

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SKIPPED_TABLES = {"device", "alembic_version", "products_fts", "products_fts_data",
                  "products_fts_idx", "products_fts_docsize", "products_fts_config",
                  "products_fts_content"}
# per till by design: a keyed hash under the till's own key, the time it was written here
MASKED = {("customers", "phone_index"), ("customers", "created_at"),
          ("audit_log", "prev_hash"), ("audit_log", "hash"),
          ("outbox", "approval_proof")}  # a MAC over the till's own op (ids, time)
ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[.\d]*(\+00:00|Z)?")


def ean(n: int) -> str:
    """A valid EAN-13 (the till checks the digit)."""
    body = f"400000{n:06d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def new_product(till: Till, sku: str, name: str, price: int, codes: tuple[str, ...],
                category: str | None) -> str:
    return catalog_edit.quick_add(till.store, till.actor(Role.MANAGER), catalog_edit.NewProduct(
        sku, name, price, 200_000, codes, category))


def sale(till: Till, pid: str, price: int, qty: int, *, pay: bool = True,
         customer: CustomerDetails | None = None) -> str:
    cart = Cart(tax_inclusive=True)
    cart.add(CartLine(product_id=pid, sku=None, name="Item", unit_price=price,
                      tax_rate_ppm=200_000, qty_milli=qty))
    tenders = [Tender(Method.CASH, cart.totals().total + 50)] if pay else []
    return record_sale(till.store, till.actor(), cart, tenders, customer=customer).order_id


def plan_sale(till: Till) -> str:
    cart = Cart(tax_inclusive=True)
    cart.add(CartLine(product_id=None, sku=None, name="Sofa", unit_price=1000,
                      tax_rate_ppm=200_000, qty_milli=1000))
    total = cart.totals().total
    down = down_payment_amount(total, percent_ppm=300_000)
    plan = make_plan(total, down, 2, date(2026, 1, 31), Interval.MONTHLY)
    return record_sale(till.store, till.actor(), cart, [Tender(Method.CARD, down)],
                       CustomerDetails(None, "Ann Plan", "+353 1 234 5678"), plan=plan).order_id


def lines_of(till: Till, order_id: str) -> list[str]:
    with till.store.db.read() as s:
        return list(s.scalars(select(OrderLine.id).where(OrderLine.order_id == order_id)
                              .order_by(OrderLine.position)))


def seed_store(a: Till) -> dict[str, str]:
    """Everything a store's feed carries, made by till A through its services and pushed."""
    manager = a.actor(Role.MANAGER)
    ids = {f"p{i}": new_product(a, f"SKU-{i}", f"Thing {i}", 100 * (i + 1),
                                (ean(i),) * (i % 3 > 0), ("Food", "Drink", None)[i % 3])
           for i in range(7)}
    for i in range(5):
        inventory.receive(a.store, a.actor(Role.STOCK), ids[f"p{i}"], 1000 * (i + 2), f"PO-{i}")
    a.sync()
    catalog_edit.update_product(a.store, manager, ids["p1"],
                                {"name": "Thing one", "price": 333, "barcodes": [ean(100), ean(101)]})
    catalog_edit.update_product(a.store, manager, ids["p6"], {"active": False})
    ids["paid"] = sale(a, ids["p0"], 100, 2000, customer=CustomerDetails(
        None, "Ann Example", "+44 7700 900123", "ann@example.com"))
    ids["open"] = sale(a, ids["p2"], 300, 1000, pay=False)
    record_payment(a.store, a.actor(), ids["open"], Tender(Method.CASH, 100))
    ids["plan"] = plan_sale(a)
    ids["refunded"] = sale(a, ids["p3"], 400, 3000)
    refund = approvals.request_refund(
        a.store, a.actor(), ids["refunded"],
        [approvals.RefundItem(lines_of(a, ids["refunded"])[0], 1000)], "broken")
    approvals.decide(a.store, manager, refund, True, note="ok")
    ids["deleted"] = sale(a, ids["p4"], 500, 1000, pay=False)
    deletion = approvals.request_deletion(a.store, a.actor(), ids["deleted"], "rang up twice")
    approvals.decide(a.store, manager, deletion, True)
    ids["asked"] = sale(a, ids["p0"], 100, 1000, pay=False)
    ids["approval"] = approvals.request_deletion(a.store, a.actor(), ids["asked"], "wrong till")
    a.sync()
    # a conflict: a price edit on a base the server no longer has
    term = a.tenant.term
    answer = term.push([term.op("product.update", ids["p1"], a.tenant.staff[Role.MANAGER],
                                {"fields": {"price": {"base": 999, "value": 555}}},
                                base_version=1)])
    assert answer["results"][0]["status"] == "conflict", answer
    term.push([term.order_create(a.tenant.staff[Role.CASHIER],
                                 lines=[line(ids["p5"], 600, 1500)], pay=True)])
    return ids


def local_edits(till: Till, ids: dict[str, str]) -> None:
    """Unpushed operations on pulled entities: they must hold those entities back."""
    catalog_edit.update_product(till.store, till.actor(Role.MANAGER), ids["p2"],
                                {"name": "Local name"})
    inventory.receive(till.store, till.actor(Role.STOCK), ids["p3"], 7000, "PO-local")
    record_payment(till.store, till.actor(), ids["plan"], Tender(Method.CASH, 350))
    approvals.decide(till.store, till.actor(Role.MANAGER), ids["approval"], False, note="no")


def server_ids(tills: list[Till]) -> set[str]:
    """Ids the server knows (the store's snapshot and feed): everything else is per till."""
    known: set[str] = set()
    c = tills[0].client()

    async def collect() -> None:
        async with c:
            page = await c.pull(0, 1000)
            known.update(UUID.findall(page.model_dump_json()))
            snap = await c.snapshot(None, 1000)
            known.update(UUID.findall(snap.model_dump_json()))

    asyncio.run(collect())
    return known


def mask(value: Any, known: set[str]) -> Any:
    if isinstance(value, bytes):
        return "<bytes>"
    if isinstance(value, dict | list):
        value = json.dumps(value, sort_keys=True, default=str)
    if isinstance(value, str):
        return UUID.sub(lambda m: m.group(0) if m.group(0) in known else "<local>", value)
    return value


def tables(till: Till, known: set[str],
           masked: frozenset[tuple[str, str]] = frozenset()) -> dict[str, list[tuple[Any, ...]]]:
    """Every table of the local store, row by row, with per-till ids and times masked
    (and the ``masked`` columns)."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with till.store.db.read() as s:
        for table in Base.metadata.sorted_tables:
            if table.name in SKIPPED_TABLES:
                continue
            pk = [c.name for c in table.primary_key.columns]
            rows = []
            for r in s.execute(select(table)).mappings():
                local = any(isinstance(r[k], str) and UUID.fullmatch(r[k]) and r[k] not in known
                            for k in pk)
                own_key = table.name == "sync_state" and r["key"].startswith("local.")
                rows.append(tuple(
                    "<masked>" if (table.name, k) in MASKED | masked or own_key and k == "value"
                    else "<time>" if local and isinstance(v, datetime)
                    else ISO_TIME.sub("<time>", mask(v, known)) if local and isinstance(v, str | dict)
                    else mask(v, known)
                    for k, v in r.items()))
            out[table.name] = sorted(rows, key=repr)
        out["customers (clear)"] = sorted(
            repr(decrypt(till.store.cipher, c)) for c in s.scalars(select(Customer)))
        out["search index"] = sorted(tuple(r) for r in s.execute(
            text("SELECT product_id, name, sku FROM products_fts")))
    return out


def feed(till: Till, limit: int) -> None:
    async def go() -> None:
        async with till.client() as c:
            await pull_changes(till.store, c, limit=limit, first_sync_snapshot=False)

    asyncio.run(go())


def feed_one_by_one(till: Till) -> None:
    """The feed with every change applied alone by its ORM applier (sync/apply.py
    ``_apply_one``), never in a run: what the runs of products and orders must equal."""
    async def go() -> list[Change]:
        async with till.client() as c:
            page = await c.pull(0, 1000)
            assert not page.has_more
            return page.changes

    changes = asyncio.run(go())
    with till.store.db.write() as s:
        ctx = ApplyContext(till.store.device_id, till.store.cipher, pending_entities(s))
        for change in changes:
            _apply_one(s, ctx, change)
        state.set_state(s, state.CURSOR, str(max(c.position for c in changes)))


def snapshot(till: Till, limit: int) -> list[tuple[int, int | None]]:
    seen: list[tuple[int, int | None]] = []

    async def go() -> None:
        async with till.client() as c:
            await resync_from_snapshot(till.store, c, lambda d, t: seen.append((d, t)),
                                       limit=limit)

    asyncio.run(go())
    return seen


def release_local_ops(till: Till) -> None:
    """As if the server answered the till's operations: held-back changes then apply."""
    with till.store.db.write() as s:
        s.execute(update(OutboxOperation).where(OutboxOperation.status == "pending")
                  .values(status="done"))
    apply_held_back(till.store)


def assert_same(stores: dict[str, dict[str, Any]]) -> None:
    (first_name, first), *rest = stores.items()
    for name, other in rest:
        for table in first:
            assert first[table] == other[table], f"{table}: {first_name} != {name}"


def test_pulled_pages_of_any_size_give_the_same_store(till_factory) -> None:
    a = till_factory("A")
    ids = seed_store(a)
    feeds = {n: till_factory(f"feed-{n}") for n in (1, 7, 1000)}
    snaps = {n: till_factory(f"snap-{n}") for n in (3, 1000)}
    alone = till_factory("one-by-one")
    known = server_ids([a])
    for n, till in feeds.items():
        feed(till, n)
    feed_one_by_one(alone)
    progress = {n: snapshot(till, n) for n, till in snaps.items()}
    assert progress[1000] == [(0, progress[1000][-1][0]), progress[1000][-1]]
    assert len(progress[3]) > 5 and progress[3][-1][0] == progress[1000][-1][0]
    states = {f"feed {n}": tables(t, known) for n, t in feeds.items()}
    assert_same(states | {"one by one": tables(alone, known)})
    snapped = {f"snapshot {n}": tables(t, known) for n, t in snaps.items()}
    assert_same(snapped)
    assert len(snapped["snapshot 3"]["conflicts"]) == 1
    one = states["feed 1000"]
    assert len(one["payments"]) >= 5 and len(one["installments"]) == 2
    assert len(one["refunds"]) == 1 and len(one["refund_lines"]) == 1
    assert len(one["approvals"]) == 3 and len(one["conflicts"]) == 1
    assert one["customers (clear)"] and one["staff"]
    assert any("deleted" in row for row in one["orders"])
    with feeds[1].store.db.read() as s:
        assert not s.get(Product, ids["p6"]).active


def test_unpushed_local_operations_hold_back_the_same_changes_at_any_page_size(
        till_factory) -> None:
    a = till_factory("A")
    ids = seed_store(a)
    known_before = server_ids([a])
    tills = {name: till_factory(name) for name in ("feed-1", "feed-7", "snap-3", "snap-1000")}
    for till in tills.values():
        snapshot(till, 1000)
        local_edits(till, ids)
    # the server moves on: the same entities changed by another till
    manager = a.actor(Role.MANAGER)
    catalog_edit.update_product(a.store, manager, ids["p2"], {"name": "Server name"})
    catalog_edit.update_product(a.store, manager, ids["p3"], {"name": "Server three"})
    record_payment(a.store, a.actor(), ids["plan"], Tender(Method.CARD, 350))
    a.sync()
    feed(tills["feed-1"], 1)
    feed(tills["feed-7"], 7)
    snapshot(tills["snap-3"], 3)
    snapshot(tills["snap-1000"], 1000)
    known = known_before | server_ids([a])
    for till in tills.values():
        with till.store.db.read() as s:
            assert s.get(Product, ids["p2"]).name == "Local name"  # not overwritten
            assert state.get_state(s, state.DEFERRED_PREFIX + ids["p2"]) is not None
    # each till's own edit stamps the edited rows with its own time
    edited = frozenset({("orders", "updated_at"), ("products", "updated_at"),
                        ("approvals", "decided_at")})
    held = {name: tables(t, known, edited) for name, t in tills.items()}
    assert_same({k: v for k, v in held.items() if k.startswith("feed")})
    assert_same({k: v for k, v in held.items() if k.startswith("snap")})
    for till in tills.values():
        release_local_ops(till)
        with till.store.db.read() as s:
            assert s.get(Product, ids["p2"]).name == "Server name"
    released = {name: tables(t, known, edited) for name, t in tills.items()}
    assert_same({k: v for k, v in released.items() if k.startswith("feed")})
    assert_same({k: v for k, v in released.items() if k.startswith("snap")})
