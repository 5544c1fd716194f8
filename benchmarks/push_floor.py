"""The push's floor: ``python -m benchmarks.push_floor [--pg] [--ops N] [--rounds N]``.

What does the schema itself cost per pushed sale, whatever the server's Python does?
This pushes ``--ops`` sales in-process (as ``benchmarks.sync_profile``: the JSON body
parsed, ``server.sync.service.push``), then takes exactly the rows the push left in
every table (rows whose primary key was not there before; rows that were there and
changed are counted as updates) and inserts them again, with the rawest means, into a
copy of the database taken just before the push (same schema, triggers, indexes and
seeded rows; SQLite with the server's pragmas):

* SQLite: ``sqlite3`` ``executemany`` of tuples of the stored values, one transaction
  (``BEGIN IMMEDIATE`` .. ``COMMIT``, synchronous=FULL as the server runs);
* PostgreSQL: ``COPY ... FROM STDIN`` (text) per table through psycopg, one transaction;
  the backend's own CPU read from /proc.

Each in three schemas: as migrated (``full``), without secondary indexes (every index
and unique constraint that is not a primary key dropped: ``no-index``), and also without
foreign keys and triggers (``bare``: the rows alone). Updated rows (stock levels, the
store's feed head, the rollups' upserted rows, ...) are written by one UPDATE per row
by primary key, reported apart. Last, the pure-Python cost of building a sale's
tuples from the request's JSON with nothing but orjson, uuid and hashlib
(:func:`build_rows`: the values of the orders, lines, payments, audit entry, feed
entries, stored result and journal link a sale writes; no checks).

Per sale, best of ``--rounds``; the load average is printed. benchmarks/notes/push.md
has the numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import shutil
import sqlite3
import tempfile
import time
import uuid
from typing import Any

import orjson

from benchmarks.sync_bench import PG_ADMIN, Till, database, sale_op, seed, server_env

Rows = dict[str, list[tuple[Any, ...]]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.push_floor")
    parser.add_argument("--pg", action="store_true")
    parser.add_argument("--ops", type=int, default=10000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    workdir = tempfile.mkdtemp(prefix="tillsync-floor-")
    try:
        with database(args.pg, workdir) as url:
            _run(args, url, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _run(args: argparse.Namespace, url: str, workdir: str) -> None:
    from server.config import Settings
    from server.context import TerminalPrincipal
    from server.db.models import Base, Terminal
    from server.main import build_context, tune_gc
    from server.sync import service
    from server.tenancy import service as tenancy
    from sync.protocol import PushRequest

    codes, _org, cashier = seed(url, 1, 2000)
    settings = Settings(database_url=url, run_migrations=False,
                        server_data_key=server_env(url)["TILLSYNC_SERVER_DATA_KEY"])
    ctx = build_context(settings)
    tune_gc()
    with ctx.writer.begin() as s:
        enrolled = tenancy.enroll(s, codes[0][1], "Floor")
    with ctx.reader() as s:
        term = s.get(Terminal, enrolled.device_id)
        assert term is not None
        principal = TerminalPrincipal(term.id, term.org_id, term.store_id, term.device_code)
    ctx.engine.dispose()  # no connection left: the snapshot below is the state before
    tables = [t for t in Base.metadata.sorted_tables]  # parents first
    snapshot = _snapshot(args.pg, url, workdir)
    before = _read_all(args.pg, url, tables)

    till = Till(enrolled.device_id, enrolled.device_code, enrolled.store_id, "", cashier)
    rng = random.Random(1)
    ops = [sale_op(till, rng) for _ in range(args.ops)]
    bodies = [json.dumps({"operations": ops[i:i + args.batch]}).encode()
              for i in range(0, len(ops), args.batch)]
    t0, cpu0 = time.perf_counter(), time.process_time()
    for body in bodies:
        asyncio.run(service.push(ctx, principal, PushRequest.model_validate_json(body)))
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    ctx.engine.dispose()
    n = len(ops)
    print(f"load {_load()}; {'PostgreSQL' if args.pg else 'SQLite'}: the push of {n} sales "
          f"in-process: {wall:.2f} s, process CPU {cpu / n * 1000:.3f} ms/op")

    after = _read_all(args.pg, url, tables)
    inserted: Rows = {}
    updated: Rows = {}
    for table in tables:
        old = before[table.name]
        for key, row in after[table.name].items():
            if key not in old:
                inserted.setdefault(table.name, []).append(row)
            elif old[key] != row:
                updated.setdefault(table.name, []).append(row)
    print("rows the push left (table: inserted / updated, per sale):")
    for table in tables:
        i, u = len(inserted.get(table.name, [])), len(updated.get(table.name, []))
        if i or u:
            print(f"  {table.name:<22} {i:>7} / {u:>5}   {i / n:6.2f} / {u / n:5.2f}")
    total = sum(len(r) for r in inserted.values())
    print(f"  {'all':<22} {total:>7} / {sum(len(r) for r in updated.values()):>5}   "
          f"{total / n:6.2f}")

    columns = {t.name: [c.name for c in t.columns] for t in tables}
    keys = {t.name: [c.name for c in t.primary_key.columns] for t in tables}
    order = [t.name for t in tables]
    results: dict[str, list[Timing]] = {}
    for _ in range(args.rounds):
        for variant in ("full", "no-index", "bare"):
            target = _copy(args.pg, snapshot, url, workdir, variant)
            try:
                insert = (_insert_pg if args.pg else _insert_sqlite)(
                    target, variant, order, columns, keys, inserted, updated)
            finally:
                _drop(args.pg, target)
            results.setdefault(variant, []).append(insert)
    print(f"load {_load()}; inserting those rows again, raw, one transaction, per sale "
          f"(best of {args.rounds}; client = this thread's CPU"
          f"{', server = the PostgreSQL backend' if args.pg else ', SQLite runs in it'}):")
    per_table: dict[str, dict[str, float]] = {}
    for variant, runs in results.items():
        ins_cpu, ins_db, upd_cpu, wall_s, tables_cpu = min(runs, key=lambda r: r[0] + r[1])
        per_table[variant] = tables_cpu
        print(f"  {variant:<9} inserts: client {ins_cpu / n * 1e6:6.1f} us"
              + (f", server {ins_db / n * 1e6:6.1f} us" if args.pg else "")
              + f"; updates {upd_cpu / n * 1e6:5.1f} us; wall incl. commit "
              f"{wall_s:.2f} s ({wall_s / n * 1e6:.0f} us/sale)")
    print("  per table, us/sale (client + server CPU), full / no-index / bare:")
    for name in order:
        if name in inserted:
            print(f"    {name:<22} " + " / ".join(
                f"{per_table[v].get(name, 0.0) / n * 1e6:5.1f}" for v in per_table))
    _time_build(bodies, n, args.rounds)


# ------------------------------------------------------------------ reading the rows


def _read_all(pg: bool, url: str, tables: list[Any]) -> dict[str, dict[tuple[Any, ...], tuple[Any, ...]]]:
    """Every table's rows as stored (PostgreSQL: each value as its text), by primary key."""
    out: dict[str, dict[tuple[Any, ...], tuple[Any, ...]]] = {}
    if pg:
        import psycopg
        with psycopg.connect(_pg_dsn(url)) as pg_conn:
            for t in tables:
                cols = [c.name for c in t.columns]
                pk = [cols.index(c.name) for c in t.primary_key.columns]
                sql = f'SELECT {", ".join(f"{_q(c)}::text" for c in cols)} FROM {_q(t.name)}'
                out[t.name] = {tuple(r[i] for i in pk): tuple(r)
                               for r in pg_conn.execute(sql)}
        return out
    conn = sqlite3.connect(_sqlite_path(url))
    try:
        for t in tables:
            cols = [c.name for c in t.columns]
            pk = [cols.index(c.name) for c in t.primary_key.columns]
            sql = f'SELECT {", ".join(_q(c) for c in cols)} FROM {_q(t.name)}'
            out[t.name] = {tuple(r[i] for i in pk): tuple(r) for r in conn.execute(sql)}
    finally:
        conn.close()
    return out


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sqlite_path(url: str) -> str:
    return url.split("sqlite:///", 1)[1]


def _pg_dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


# ------------------------------------------------------------------ fresh copies


def _snapshot(pg: bool, url: str, workdir: str) -> str:
    """A copy of the database as it is now (before the push): a file or a database name."""
    if pg:
        import psycopg
        name = url.rsplit("/", 1)[1] + "_floor"
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{url.rsplit("/", 1)[1]}"')
        return name
    path = os.path.join(workdir, "floor-snapshot.db")
    src, dst = sqlite3.connect(_sqlite_path(url)), sqlite3.connect(path)
    src.backup(dst)
    src.close()
    dst.close()
    return path


_copies = [0]


def _copy(pg: bool, snapshot: str, url: str, workdir: str, variant: str) -> str:
    """A fresh copy of the snapshot with the variant's schema."""
    _copies[0] += 1
    if pg:
        import psycopg
        name = f"{snapshot}_{_copies[0]}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{snapshot}"')
        if variant != "full":
            with psycopg.connect(_pg_url_for(name), autocommit=True) as conn:
                _strip_pg(conn, bare=variant == "bare")
        return name
    path = os.path.join(workdir, f"floor-{_copies[0]}.db")
    src, dst = sqlite3.connect(snapshot), sqlite3.connect(path)
    src.backup(dst)
    src.close()
    if variant != "full":
        _strip_sqlite(dst, bare=variant == "bare")
    dst.close()
    return path


def _strip_sqlite(conn: sqlite3.Connection, bare: bool) -> None:
    """Drop the secondary indexes (bare: the triggers too; the foreign keys are switched
    off by the pragma). A UNIQUE constraint of a CREATE TABLE (an autoindex) cannot be
    dropped: its table is made again without it."""
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' "
                                "AND sql IS NOT NULL").fetchall():
        conn.execute(f"DROP INDEX {_q(name)}")
    for (table,) in conn.execute("SELECT DISTINCT tbl_name FROM sqlite_master WHERE "
                                 "type = 'index' AND sql IS NULL").fetchall():
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                           (table,)).fetchone()[0]
        kept = _without_unique(sql)
        if kept != sql:
            triggers = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' "
                                    "AND tbl_name = ?", (table,)).fetchall()
            conn.execute("PRAGMA foreign_keys=OFF")
            conn.execute(f"ALTER TABLE {_q(table)} RENAME TO {_q(table + '_old')}")
            conn.execute(kept)
            conn.execute(f"INSERT INTO {_q(table)} SELECT * FROM {_q(table + '_old')}")
            conn.execute(f"DROP TABLE {_q(table + '_old')}")
            for (trig,) in triggers:
                conn.execute(trig)
    if bare:
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"
                                    ).fetchall():
            conn.execute(f"DROP TRIGGER {_q(name)}")
    conn.commit()


def _without_unique(sql: str) -> str:
    """A CREATE TABLE without its table-level UNIQUE (...) constraints and column UNIQUEs."""
    import re
    out = re.sub(r",\s*(CONSTRAINT\s+\S+\s+)?UNIQUE\s*\([^)]*\)", "", sql)
    return re.sub(r"\bUNIQUE\b(?!\s*\()", "", out)


def _strip_pg(conn: Any, bare: bool) -> None:
    rows = conn.execute(
        "SELECT i.indexrelid::regclass::text, c.conname, c.conrelid::regclass::text "
        "FROM pg_index i JOIN pg_class r ON r.oid = i.indrelid "
        "JOIN pg_namespace n ON n.oid = r.relnamespace AND n.nspname = 'public' "
        "LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.contype IN ('u', 'x') "
        "WHERE NOT i.indisprimary").fetchall()
    for index, con, table in rows:
        if con is not None:
            conn.execute(f"ALTER TABLE {table} DROP CONSTRAINT {_q(con)} CASCADE")
        else:
            conn.execute(f"DROP INDEX IF EXISTS {index} CASCADE")
    if bare:
        for con, table in conn.execute(
                "SELECT conname, conrelid::regclass::text FROM pg_constraint c JOIN "
                "pg_namespace n ON n.oid = c.connamespace AND n.nspname = 'public' "
                "WHERE contype = 'f'").fetchall():
            conn.execute(f"ALTER TABLE {table} DROP CONSTRAINT {_q(con)}")
        for trig, table in conn.execute(
                "SELECT tgname, tgrelid::regclass::text FROM pg_trigger t JOIN pg_class r "
                "ON r.oid = t.tgrelid JOIN pg_namespace n ON n.oid = r.relnamespace AND "
                "n.nspname = 'public' WHERE NOT tgisinternal").fetchall():
            conn.execute(f"DROP TRIGGER {_q(trig)} ON {table}")


def _drop(pg: bool, target: str) -> None:
    if pg:
        import psycopg
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
    else:
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(target + suffix):
                os.remove(target + suffix)


# ------------------------------------------------------------------ the raw inserts


# insert CPU, database CPU, update CPU, wall, {table: insert CPU (client + database)}
Timing = tuple[float, float, float, float, dict[str, float]]


def _insert_sqlite(path: str, variant: str, order: list[str], columns: dict[str, list[str]],
                   keys: dict[str, list[str]], inserted: Rows, updated: Rows) -> Timing:
    bare = variant == "bare"
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=FULL",
                   f"foreign_keys={'OFF' if bare else 'ON'}", "busy_timeout=60000"):
        conn.execute(f"PRAGMA {pragma}")
    wall0 = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    t0 = time.thread_time()
    per_table: dict[str, float] = {}
    for name in order:
        rows = inserted.get(name)
        if rows:
            cols = columns[name]
            sql = (f"INSERT INTO {_q(name)} ({', '.join(map(_q, cols))}) VALUES "
                   f"({', '.join('?' * len(cols))})")
            ta = time.thread_time()
            conn.executemany(sql, rows)
            per_table[name] = time.thread_time() - ta
    t1 = time.thread_time()
    for name in order:
        rows = updated.get(name)
        if rows:
            cols, pk = columns[name], keys[name]
            rest = [c for c in cols if c not in pk]
            idx = [cols.index(c) for c in rest + pk]
            conn.executemany(
                f"UPDATE {_q(name)} SET {', '.join(f'{_q(c)} = ?' for c in rest)} WHERE "
                + " AND ".join(f"{_q(c)} = ?" for c in pk),
                [tuple(r[i] for i in idx) for r in rows])
    t2 = time.thread_time()
    conn.execute("COMMIT")
    wall = time.perf_counter() - wall0
    conn.close()
    return t1 - t0, 0.0, t2 - t1, wall, per_table


def _backend_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _insert_pg(name: str, variant: str, order: list[str], columns: dict[str, list[str]],
               keys: dict[str, list[str]], inserted: Rows, updated: Rows) -> Timing:
    import psycopg
    del variant  # (the copy's schema says it)
    with psycopg.connect(_pg_url_for(name)) as conn:
        row = conn.execute("SELECT pg_backend_pid()").fetchone()
        assert row is not None
        pid = row[0]
        wall0 = time.perf_counter()
        db0, t0 = _backend_cpu(pid), time.thread_time()
        per_table: dict[str, float] = {}
        with conn.cursor() as cur:
            for table in order:
                rows = inserted.get(table)
                if rows:
                    da, ta = _backend_cpu(pid), time.thread_time()
                    with cur.copy(f"COPY {_q(table)} ({', '.join(map(_q, columns[table]))}) "
                                  "FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
                    per_table[table] = time.thread_time() - ta + _backend_cpu(pid) - da
            t1 = time.thread_time()
            db1 = _backend_cpu(pid)
            for table in order:
                rows = updated.get(table)
                if rows:
                    cols, pk = columns[table], keys[table]
                    rest = [c for c in cols if c not in pk]
                    idx = [cols.index(c) for c in rest + pk]
                    # each value as its text, cast by the column's own type
                    cur.executemany(
                        f"UPDATE {_q(table)} SET "
                        + ", ".join(f"{_q(c)} = %s::text::{_pg_type(conn, table, c)}"
                                    for c in rest)
                        + " WHERE " + " AND ".join(
                            f"{_q(c)} = %s::text::{_pg_type(conn, table, c)}" for c in pk),
                        [tuple(r[i] for i in idx) for r in rows])
            t2 = time.thread_time()
        conn.commit()
        wall = time.perf_counter() - wall0
        db2 = _backend_cpu(pid)
    # the updates' client CPU and the backend's, together
    return t1 - t0, db1 - db0, (t2 - t1) + (db2 - db1), wall, per_table


_pg_types: dict[tuple[str, str], str] = {}


def _pg_type(conn: Any, table: str, column: str) -> str:
    key = (table, column)
    if key not in _pg_types:
        _pg_types[key] = conn.execute(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = "
            "%s::regclass AND attname = %s", (_q(table), column)).fetchone()[0]
    return _pg_types[key]


def _pg_url_for(name: str) -> str:
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


# ------------------------------------------------------------------ the Python floor


def build_rows(body: bytes, now: str, org: str, store: str) -> list[tuple[Any, ...]]:
    """A push body's rows as tuples of stored values, with nothing but orjson, uuid
    and hashlib: per sale the order, its lines (each its own sale movement: the level
    after it, migration 0021), payments, the audit entry, a feed entry per line
    (movement) and the order's, the stored result and the journal link (its hash); no
    event rows (none without a webhook URL, as this benchmark's server). No check, no
    total computed: the floor of the Python a push does per sale, whatever the schema's
    code looks like. (Before 0021 and 5d339f0 a sale also had a stock_movements row per
    line and two event rows.)"""
    out: list[tuple[Any, ...]] = []
    add = out.append
    dumps = orjson.dumps
    prev = "0" * 64
    for seq, op in enumerate(orjson.loads(body)["operations"], 1):
        p = op["payload"]
        oid, actor, device, op_id = op["entity_id"], op["actor_id"], op["device_id"], op["op_id"]
        ref, created = p["reference"], p["created_at"]
        lines = p["lines"]
        pays = p["payments"]
        paid = sum(x["amount"] for x in pays)
        add((oid, org, store, ref, "paid", p["currency"], p["tax_inclusive"], True, None, None,
             0, 0, p["subtotal"], p["discount"], p["tax"], p["total"], paid, 0, None, "[]",
             "[]", created, actor, device, None, None, 1, now, now))
        line_states = []
        feed_moves = []
        for pos, li in enumerate(lines):
            add((li["id"], oid, pos, li["product_id"], li["sku"], li["name"], li["barcode"],
                 li["unit_price"], li["qty_milli"], li["tax_rate_ppm"], 0, 0, li["gross"],
                 li["net"], li["tax"], li["total"], 0))
            line_states.append(li)
            mid = li["id"]
            feed_moves.append((mid, dumps({"id": mid, "product_id": li["product_id"],
                                           "kind": "sale", "qty_delta_milli": -li["qty_milli"],
                                           "reference": ref, "created_at": created})))
        for x in pays:
            add((x["id"], org, store, oid, x["method"], x["amount"], x["tendered"],
                 x["change"], None, actor, device, x["created_at"], now))
        state = {"id": oid, "reference": ref, "store_id": store, "total": p["total"],
                 "paid": paid, "lines": line_states, "payments": pays, "refunds": [],
                 "created_at": created, "version": 1}
        state_json = dumps(state)
        changes = dumps({"created": {"before": None, "after": {"reference": ref,
                                                                "total": p["total"]}},
                         "server_totals": None, "flags": []})
        add((org, store, "order", oid, "order.create", actor, device, op_id, changes, None,
             now))
        for mid, data in feed_moves:
            add((store, 0, "stock_movement", mid, 1, False, data, device, op_id, now))
        add((store, 0, "order", oid, 1, False, state_json, device, op_id, now))
        add((op_id, device, op["op_seq"], org, "order.create", oid, "applied",
             dumps({"op_id": op_id, "op_seq": op["op_seq"], "status": "applied",
                    "entity_id": oid, "version": 1, "reason": None, "conflict_id": None,
                    "flags": []}), now))
        digest = hashlib.sha256(prev.encode() + dumps(
            {"seq": seq, "org_id": org, "entity_id": oid, "changes": changes.decode(),
             "created_at": now}, option=orjson.OPT_SORT_KEYS)).hexdigest()
        add((org, seq, seq, prev, digest))
        prev = digest
    return out


def _time_build(bodies: list[bytes], n: int, rounds: int) -> None:
    best = float("inf")
    rows = 0
    org, store, now = str(uuid.uuid4()), str(uuid.uuid4()), "2026-12-04 12:00:00.000000"
    for _ in range(rounds):
        t0 = time.thread_time()
        rows = sum(len(build_rows(body, now, org, store)) for body in bodies)
        best = min(best, time.thread_time() - t0)
    print(f"load {_load()}; the Python floor (build_rows: orjson.loads of the bodies and "
          f"every row's tuple, {rows / n:.1f} rows a sale): {best / n * 1e6:.1f} us/sale "
          f"(best of {rounds})")


if __name__ == "__main__":
    raise SystemExit(main())
