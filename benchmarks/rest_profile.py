"""The back-office create in-process, for comparing two trees: CPU per order.

A real server (uvicorn in a thread, tests/server/support.py running_server) on a fresh
PostgreSQL database, one manager creating orders (rest_load's order_body: two lines and
a cash payment) over httpx one after another. Prints, per order: the server's CPU (the
process's CPU less the calling thread's, which is the client), the client's, the CPU of
the PostgreSQL backends of the database, and with ``--statements`` every statement
SQLAlchemy sent (the listener costs CPU of its own: leave it off when timing).

``--tree DIR`` runs the server of another checkout (``git worktree add /tmp/old HEAD``)
with this file: run both trees alternately, same arguments, and compare ratios.

    python -m benchmarks.rest_profile --orders 300 [--tree /tmp/old] [--statements]
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import time
import uuid
from typing import Any

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--warm", type=int, default=30)
    parser.add_argument("--tree", default=os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    parser.add_argument("--statements", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, os.path.abspath(args.tree))
    for name in [m for m in sys.modules if m.split(".")[0] in ("server", "app", "sync",
                                                             "benchmarks", "tests")]:
        del sys.modules[name]  # (python -m imported this tree's benchmarks package)

    import httpx
    import psycopg

    import server
    from benchmarks.rest_load import DatabaseCpu, order_body, seed_org
    from benchmarks.sync_bench import server_env
    from server.config import Settings
    from tests.server.support import running_server

    name = "rprof_" + uuid.uuid4().hex[:8]
    with psycopg.connect(ADMIN, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    stmts: collections.Counter[str] = collections.Counter()
    counting = [False]
    if args.statements:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        @event.listens_for(Engine, "before_cursor_execute")
        def _count(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
            if counting[0]:
                stmts[" ".join(statement.split())[:150]] += 1
    try:
        org = seed_org(url, 1, 1)
        settings = Settings(database_url=url, argon2_time_cost=1, argon2_memory_kib=8192,
                            server_data_key=server_env(url)["TILLSYNC_SERVER_DATA_KEY"],
                            jwt_secret="x" * 40,
                            # the limiter on, as served, but never refusing: one person
                            # past 50 orders a second is refused (rate_limited) otherwise
                            rate_limit_per_second=100_000.0, rate_limit_burst=1_000_000)
        db = DatabaseCpu(url)
        with running_server(settings) as srv, httpx.Client(base_url=srv.base_url) as c:
            store = org.store_ids[0]
            tok = _sign_in_at_a_till(srv.ctx, c, org, store)
            headers = {"Authorization": f"Bearer {tok}"}
            for i in range(args.warm):
                r = c.post("/offline-orders", json=order_body(store, i), headers=headers)
                assert r.status_code == 201, r.text
            counting[0] = True
            db.mark()
            p0, t0, w0 = time.process_time(), time.thread_time(), time.perf_counter()
            for i in range(args.orders):
                r = c.post("/offline-orders", json=order_body(store, 10_000 + i),
                           headers=headers)
                assert r.status_code == 201, r.text
            p1, t1, w1 = time.process_time(), time.thread_time(), time.perf_counter()
            pg = db.since()
            counting[0] = False
        n = args.orders
        print(f"tree {args.tree} ({os.path.dirname(server.__file__)})  load {os.getloadavg()}")
        print(f"per order: server {1000 * ((p1 - p0) - (t1 - t0)) / n:.2f} ms  "
              f"client {1000 * (t1 - t0) / n:.2f} ms  pg {1000 * pg / n:.2f} ms  "
              f"wall {1000 * (w1 - w0) / n:.2f} ms  (backends started: {db.connections})")
        if args.statements:
            print(f"statements per order: {sum(stmts.values()) / n:.2f}")
            for s, k in stmts.most_common():
                print(f"{k / n:5.2f}  {s}")
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as c:
            c.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def _sign_in_at_a_till(ctx: Any, c: Any, org: Any, store: str) -> str:
    """The manager's access token, signed in at a till of ``store`` (enrolled here): the
    manager is then seen working there, the store scope of their back office (since
    a5f910f, server/tenancy/scope.py; a manager seen at no till is refused 403)."""
    from app.domain.permissions import Role
    from benchmarks.rest_load import PIN
    from server.tenancy import service as tenancy

    with ctx.writer.begin() as s:
        code, _ = tenancy.create_enrollment_code(s, org.org_id, store, 600, max_role=Role.OWNER)
    till = c.post("/terminals/enroll", json={"code": code, "name": "Till"})
    assert till.status_code == 201, till.text
    r = c.post("/auth/login", json={"staff_id": org.staff_ids[0], "pin": PIN},
               headers={"Authorization": f"Bearer {till.json()['terminal_token']}"})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


if __name__ == "__main__":
    main()
