"""Back-office writes and pushes touching the same entity at once never deadlock.

A back-office write (PATCH /products, PATCH /offline-orders) and a push (product.update,
order.update, sales) lock the same rows: the product or order row, the barcode advisory
locks and the store feed rows. They must take them in the same order (the feed last,
just before commit), or PostgreSQL finds a deadlock and cancels one of them, which then
has to be retried (both log "transient database error", or a group of pushes "failed").
Against the real server, on SQLite and PostgreSQL: every request answers 200 (or 409 for
a stale base), the server logged no warning (no retry), PostgreSQL counted no deadlock,
and the feed has every version of the entity, at dense positions.

A push's order: its terminals' rows, then the rows of the products its product.update ops
edit, then every SKU and barcode its product ops may claim, all at once in one sorted
order (server/sync/product_codes.py), then what the ops lock as they run (stock levels,
orders), and the store feed rows last. A single back-office write or resolution takes
the product row before its codes, and its codes together in the same sorted order.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from typing import Any, TypeVar

import psycopg
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from app.domain.ids import new_id
from app.domain.permissions import Role
from server.db.models import Order, Product
from server.db.retry import retryable as _retryable
from tests.server.support import RunningServer, Tenant, Terminal, line, running_server
from tests.server.test_product_rules_server import product_body

TEA = "4006381333931"
JAM = "5901234123457"
ROUNDS = 25
Row = TypeVar("Row", Order, Product)


class _Recorder(logging.Handler):
    """Every warning or error the server logs while the test runs (thread-safe)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[str] = []
        self.guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        with self.guard:
            self.records.append(f"{record.name}: {record.getMessage()}")


def _pg_deadlocks(url: str) -> int | None:
    """PostgreSQL's count of deadlocks detected in this database (None on SQLite)."""
    if not url.startswith("postgresql"):
        return None
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute("SELECT deadlocks FROM pg_stat_database "
                           "WHERE datname = current_database()").fetchone()
        assert row is not None
        return int(row[0])


def _current(tenant: Tenant, model: type[Row], entity_id: str) -> Row:
    with tenant.server.ctx.reader() as s:
        row = s.get(model, entity_id)
        assert row is not None
        s.expunge(row)
        return row


@contextmanager
def _no_deadlock(tenant: Tenant, statuses: tuple[str, ...] = ("applied", "conflict")
                 ) -> Iterator[list[tuple[str, int, Any]]]:
    """Collects (kind, HTTP status, body) of the requests of the block; afterwards checks
    that none failed (a back-office create, kind "post", answers 201 or 422; every pushed
    op one of ``statuses``), the server logged no warning or error and PostgreSQL no
    deadlock."""
    url = tenant.server.settings.database_url
    recorder = _Recorder()
    server_log = logging.getLogger("tillsync")
    server_log.addHandler(recorder)
    deadlocks_before = _pg_deadlocks(url)
    answers: list[tuple[str, int, Any]] = []
    try:
        yield answers
    finally:
        server_log.removeHandler(recorder)
    failed = [(kind, code, body) for kind, code, body in answers
              if (code not in (201, 422) if kind == "post" else code not in (200, 409))
              or (kind == "patch" and code == 409 and '"conflict"' not in body)]
    assert not failed, failed[:5]
    results = [res for kind, _, body in answers if kind == "push" for res in body["results"]]
    assert all(res["status"] in statuses for res in results), \
        [res for res in results if res["status"] not in statuses][:5]
    assert not recorder.records, recorder.records[:5]  # no retry, no error
    if deadlocks_before is not None:  # statistics reach pg_stat_database within ~1 s
        time.sleep(2.5)
        assert _pg_deadlocks(url) == deadlocks_before


def _run_together(*jobs: Callable[[], None]) -> None:
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        for job in [pool.submit(j) for j in jobs]:
            job.result()


Answers = list[tuple[str, int, Any]]


def _push(c: Any, term: Terminal, ops: list[dict[str, Any]], answers: Answers) -> None:
    r = c.post("/sync/push", json={"operations": ops}, headers=term.headers)
    answers.append(("push", r.status_code, r.json() if r.status_code == 200 else r.text))


def _back_office_and_pushes_together(tenant: Tenant, back_office: Callable[[int, Answers], None],
                                     push: Callable[[Terminal, Answers], None],
                                     terms: list[Terminal]) -> Answers:
    """Four back-office writers and the terminals' pushers at once, under _no_deadlock;
    every pusher's every round answered."""
    with _no_deadlock(tenant) as answers:
        _run_together(*[partial(back_office, k, answers) for k in range(4)],
                      *[partial(push, t, answers) for t in terms])
    assert len([a for a in answers if a[0] == "push"]) == ROUNDS * len(terms)
    return answers


def _feed_holds_every_version(tenant: Tenant, model: type[Row], entity_type: str,
                              entity_id: str) -> list[dict[str, Any]]:
    """The store's feed skipped nothing: dense positions, and every version of the entity
    up to its current one. Returns the changes."""
    changes, _ = tenant.term.pull_all()
    positions = [ch["position"] for ch in changes]
    assert positions == list(range(1, len(positions) + 1))
    final = _current(tenant, model, entity_id).version
    assert sorted(ch["version"] for ch in changes if ch["entity_type"] == entity_type
                  and ch["entity_id"] == entity_id) == list(range(1, final + 1))
    return changes


def test_backoffice_edits_and_pushes_of_one_product_never_deadlock(tenant: Tenant) -> None:
    stock, cashier = tenant.staff[Role.STOCK], tenant.staff[Role.CASHIER]
    pid = new_id()
    with tenant.server.client() as c:
        r = c.post("/products", headers=tenant.login(Role.MANAGER), json={
            "id": pid, "sku": "TEA-1", "name": "Green tea", "category": "Drinks",
            "price": 350, "tax_rate_ppm": 200_000, "barcodes": [TEA], "stock_tracked": True})
        assert r.status_code == 201, r.text
    terms = [tenant.term] + [tenant.enroll(name=f"Till {i}") for i in range(3)]
    heads = [tenant.login(Role.MANAGER) for _ in range(4)]

    def back_office(k: int, answers: list[tuple[str, int, Any]]) -> None:
        with tenant.server.client() as c:
            for i in range(ROUNDS):
                cur = _current(tenant, Product, pid)
                if (i + k) % 2:
                    fields = {"price": {"base": cur.price, "value": cur.price + 1}}
                else:
                    codes = [TEA] if JAM in (cur.barcodes or []) else [TEA, JAM]
                    fields = {"barcodes": {"base": cur.barcodes, "value": codes}}
                r = c.patch(f"/products/{pid}", headers=heads[k], json={"fields": fields})
                answers.append(("patch", r.status_code, r.text))

    def push(term: Terminal, answers: list[tuple[str, int, Any]]) -> None:
        with tenant.server.client() as c:
            for i in range(ROUNDS):
                cur = _current(tenant, Product, pid)
                if i % 2:
                    edit = {"name": {"base": cur.name, "value": f"Green tea {term.device_code}{i}"}}
                else:
                    edit = {"barcodes": {"base": cur.barcodes,
                                         "value": [TEA] if JAM in (cur.barcodes or [])
                                         else [TEA, JAM]}}
                ops = [term.op("product.update", pid, stock, {"fields": edit}),
                       term.order_create(cashier, lines=[line(pid, 350, 1000)], pay=True)]
                _push(c, term, ops, answers)

    _back_office_and_pushes_together(tenant, back_office, push, terms)

    # the feed skipped nothing: dense positions, every version of the product, every sale
    changes = _feed_holds_every_version(tenant, Product, "product", pid)
    with tenant.server.ctx.reader() as s:
        sales = s.scalar(select(func.count()).select_from(Order)
                         .where(Order.org_id == tenant.org_id))
    assert sales == ROUNDS * len(terms)
    assert len({ch["entity_id"] for ch in changes if ch["entity_type"] == "order"}) == sales


def test_backoffice_and_pushed_edits_of_one_order_never_deadlock(tenant: Tenant) -> None:
    manager = tenant.staff[Role.MANAGER]
    first = tenant.term.order_create(manager)
    assert tenant.term.push([first])["results"][0]["status"] == "applied"
    oid = first["entity_id"]
    terms = [tenant.term] + [tenant.enroll(name=f"Till {i}") for i in range(3)]
    heads = [tenant.login(Role.MANAGER) for _ in range(4)]

    def back_office(k: int, answers: list[tuple[str, int, Any]]) -> None:
        with tenant.server.client() as c:
            for i in range(ROUNDS):
                base = _current(tenant, Order, oid).note
                r = c.patch(f"/offline-orders/{oid}", headers=heads[k],
                            json={"fields": {"note": {"base": base, "value": f"office {k}.{i}"}}})
                answers.append(("patch", r.status_code, r.text))

    def push(term: Terminal, answers: list[tuple[str, int, Any]]) -> None:
        with tenant.server.client() as c:
            for i in range(ROUNDS):
                base = _current(tenant, Order, oid).note
                ops = [term.op("order.update", oid, manager, {"fields": {"note": {
                           "base": base, "value": f"till {term.device_code}.{i}"}}}),
                       term.order_create(manager)]
                _push(c, term, ops, answers)

    _back_office_and_pushes_together(tenant, back_office, push, terms)

    _feed_holds_every_version(tenant, Order, "order", oid)


def test_backoffice_resolutions_and_pushed_edits_of_one_product_never_deadlock(
        tenant: Tenant) -> None:
    """POST /conflicts/{id}/resolve (the conflict, the product, then the feed) while
    terminals push edits of the product."""
    stock, manager = tenant.staff[Role.STOCK], tenant.staff[Role.MANAGER]
    pid = new_id()
    term = tenant.term
    assert term.push([term.op("product.create", pid, stock, {
        "sku": "JAM-1", "name": "Jam", "price": 500, "tax_rate_ppm": 200_000,
        "barcodes": [JAM]})])["results"][0]["status"] == "applied"
    stale = [term.op("product.update", pid, stock, {"fields": {
        "price": {"base": 1, "value": 600 + i}}}) for i in range(4 * ROUNDS)]
    conflict_ids = [r["conflict_id"] for r in term.push(stale)["results"]]
    assert all(conflict_ids)
    terms = [tenant.enroll(name=f"Till {i}") for i in range(4)]
    heads = [tenant.login(Role.MANAGER) for _ in range(4)]

    def back_office(k: int, answers: list[tuple[str, int, Any]]) -> None:
        with tenant.server.client() as c:
            for cid in conflict_ids[k::4]:
                r = c.post(f"/conflicts/{cid}/resolve", headers=heads[k],
                           json={"choice": "terminal"})
                answers.append(("resolve", r.status_code, r.text))

    def push(t: Terminal, answers: list[tuple[str, int, Any]]) -> None:
        with tenant.server.client() as c:
            for i in range(ROUNDS):
                name = _current(tenant, Product, pid).name
                ops = [t.op("product.update", pid, manager, {"fields": {"name": {
                    "base": name, "value": f"Jam {t.device_code}.{i}"}}})]
                _push(c, t, ops, answers)

    answers = _back_office_and_pushes_together(tenant, back_office, push, terms)
    assert [code for kind, code, _ in answers if kind == "resolve"] == [200] * len(conflict_ids)

    changes = _feed_holds_every_version(tenant, Product, "product", pid)
    resolved = {ch["entity_id"] for ch in changes if ch["entity_type"] == "conflict"
                and ch["data"]["status"] == "resolved"}
    assert resolved == set(conflict_ids)


def _each_code_held_once(tenant: Tenant, codes: list[str]) -> None:
    """Each code belongs to exactly one product of the organization."""
    with tenant.server.ctx.reader() as s:
        held = [c for p in s.scalars(select(Product).where(Product.org_id == tenant.org_id))
                for c in p.barcodes or []]
    assert sorted(c for c in held if c in codes) == sorted(codes)


def _creates(term: Terminal, actor: str, tag: str, codes: list[str]) -> list[dict[str, Any]]:
    """One product.create per code, in the order given."""
    return [term.op("product.create", new_id(), actor, product_body(
        sku=f"{tag}-{code}", name=f"{tag} {code}", barcodes=[code])) for code in codes]


def test_pushes_claiming_codes_in_opposite_orders_never_deadlock(tenant: Tenant) -> None:
    """Two server processes (each its own push writer, so their pushes are concurrent
    transactions) take pushes of two product.create each, claiming barcodes X and Y:
    one till in the order X, Y, the other Y, X. Taken op by op, the codes' locks met in
    opposite orders and PostgreSQL cancelled one push as a deadlock (retried, logged);
    a transaction takes every code its product ops claim at once, in one sorted order,
    so the second push waits for the first and finds both codes taken."""
    if not tenant.server.settings.database_url.startswith("postgresql"):
        pytest.skip("advisory locks and deadlocks are PostgreSQL's (SQLite has one writer)")
    stock = tenant.staff[Role.STOCK]
    tills = [tenant.term, tenant.enroll(name="Till B")]
    meet = threading.Barrier(len(tills))
    codes = [c for i in range(ROUNDS) for c in (f"X-{i}", f"Y-{i}")]
    # the second server without the journal check a starting server runs at once: it
    # checks every organization of the shared test database and logs the journals that
    # tests/server/test_journal.py breaks on purpose, which _no_deadlock would count
    second = tenant.server.settings.model_copy(update={"journal_check_interval_s": 0})
    with running_server(second) as other, \
            _no_deadlock(tenant, ("applied", "rejected")) as answers:
        def push(k: int, server: RunningServer) -> None:
            with server.client() as c:
                for i in range(ROUNDS):
                    pair = [f"X-{i}", f"Y-{i}"]
                    ops = _creates(tills[k], stock, f"T{k}", pair if k == 0 else pair[::-1])
                    meet.wait(30)
                    _push(c, tills[k], ops, answers)

        _run_together(partial(push, 0, tenant.server), partial(push, 1, other))
    assert len(answers) == ROUNDS * len(tills)
    results = [res for _, _, body in answers for res in body["results"]]
    assert [r["status"] for r in results].count("applied") == len(codes)
    assert all("already belongs to another product" in (r["reason"] or "")
               for r in results if r["status"] == "rejected")
    _each_code_held_once(tenant, codes)


def test_a_push_and_back_office_creates_claiming_the_same_codes_never_deadlock(
        tenant: Tenant) -> None:
    """A push of two product.create claiming X and Y (in one order, then the other,
    round by round) while the back office creates a product holding both codes (POST
    /products, its codes locked together): one of them gets the codes, the other is
    refused, and neither waits for the other in a cycle."""
    stock = tenant.staff[Role.STOCK]
    term = tenant.term
    manager = tenant.login(Role.MANAGER)
    meet = threading.Barrier(2)
    codes = [c for i in range(ROUNDS) for c in (f"X-{i}", f"Y-{i}")]
    with _no_deadlock(tenant, ("applied", "rejected")) as answers:
        def push() -> None:
            with tenant.server.client() as c:
                for i in range(ROUNDS):
                    pair = [f"X-{i}", f"Y-{i}"]
                    ops = _creates(term, stock, "T", pair if i % 2 else pair[::-1])
                    meet.wait(30)
                    _push(c, term, ops, answers)

        def post() -> None:
            with tenant.server.client() as c:
                for i in range(ROUNDS):
                    body = product_body(id=new_id(), sku=f"B-{i}", name=f"Both {i}",
                                        barcodes=[f"X-{i}", f"Y-{i}"])
                    meet.wait(30)
                    r = c.post("/products", headers=manager, json=body)
                    answers.append(("post", r.status_code, r.text))

        _run_together(push, post)
    assert len(answers) == 2 * ROUNDS
    _each_code_held_once(tenant, codes)


def test_a_push_locks_each_code_of_its_product_ops_once(tenant: Tenant) -> None:
    """The codes taken before the ops run are not locked again by the ops' own checks:
    a push of two creates (an SKU and a barcode each) and an edit of a third product's
    barcodes takes one advisory lock per code."""
    if not tenant.server.settings.database_url.startswith("postgresql"):
        pytest.skip("advisory locks are PostgreSQL's")
    stock, term = tenant.staff[Role.STOCK], tenant.term
    pid = new_id()
    assert term.push([term.op("product.create", pid, stock, product_body(
        sku="C-1", barcodes=["C-1"]))])["results"][0]["status"] == "applied"
    locks: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_a: Any) -> None:
        if "pg_advisory_xact_lock" in statement:
            locks.append(statement)

    engine = tenant.server.ctx.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        ops = _creates(term, stock, "A", ["A-1", "A-2"]) + [term.op(
            "product.update", pid, stock, {"fields": {"barcodes": {
                "base": ["C-1"], "value": ["C-1", "C-2"]}}})]
        results = term.push(ops)["results"]
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert [r["status"] for r in results] == ["applied"] * 3
    assert len(locks) == 2 * 2 + 2  # A-A-1, A-1; A-A-2, A-2; C-1, C-2


def test_backoffice_writes_are_retried_only_after_a_certain_rollback() -> None:
    """The retry of back-office writes (ops.run): a deadlock, serialization failure, lock timeout or
    SQLite's busy lock (the attempt rolled back); never a lost connection (the commit may
    have happened)."""
    def err(orig: Exception) -> OperationalError:
        return OperationalError("UPDATE products ...", {}, orig)

    assert _retryable(err(psycopg.errors.DeadlockDetected("deadlock detected")))
    assert _retryable(err(psycopg.errors.SerializationFailure("could not serialize")))
    assert _retryable(err(psycopg.errors.LockNotAvailable("lock timeout")))
    assert _retryable(err(sqlite3.OperationalError("database is locked")))
    assert not _retryable(err(psycopg.OperationalError("server closed the connection")))
    assert not _retryable(err(sqlite3.OperationalError("disk I/O error")))


def test_every_backoffice_write_goes_through_the_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    """ops.run tries again after a deadlock (orders, approvals and products alike) and
    gives up on a lost connection at once."""
    from server.backoffice import ops

    calls: list[int] = []
    deadlock = OperationalError("UPDATE orders ...", {},
                                psycopg.errors.DeadlockDetected("deadlock detected"))

    def once(*_a: object, **_k: object) -> tuple[str, list[str]]:
        calls.append(1)
        if len(calls) == 1:
            raise deadlock
        return "done", []

    monkeypatch.setattr(ops, "_run_once", once)
    monkeypatch.setattr("server.db.retry.time.sleep", lambda _s: None)
    assert ops.run(None, None, "s", None, "e", {}, lambda oc: None) == ("done", [])  # type: ignore[arg-type]
    assert len(calls) == 2
    lost = OperationalError("COMMIT", {}, psycopg.OperationalError("server closed the connection"))

    def broken(*_a: object, **_k: object) -> None:
        calls.append(1)
        raise lost

    calls.clear()
    monkeypatch.setattr(ops, "_run_once", broken)
    with pytest.raises(OperationalError):
        ops.run(None, None, "s", None, "e", {}, lambda oc: None)  # type: ignore[arg-type]
    assert len(calls) == 1
