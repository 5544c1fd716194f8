"""In-process push profile: ``python -m benchmarks.sync_profile [--pg] [--ops N] [--batch N]``.

Builds a server context on a fresh SQLite file (or a temporary PostgreSQL database),
seeds the demo catalog, enrolls a terminal and calls ``server.sync.service.push``
directly (no HTTP), printing ops/s and SQL statements per op; ``--profile`` adds a
cProfile listing of the push writer thread (every batch) (``--sort tottime|cumulative``).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import random
import shutil
import tempfile
import time
from typing import Any

from sqlalchemy import event

from benchmarks.sync_bench import Till, database, database_cpu, sale_op, seed, server_env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sync_profile")
    parser.add_argument("--pg", action="store_true")
    parser.add_argument("--ops", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--phases", action="store_true",
                        help="the writer thread's CPU by phase (each function named in "
                             "PHASES timed with thread_time; nested ones inclusive)")
    args = parser.parse_args(argv)

    from server.config import Settings
    from server.db.models import Terminal
    from server.main import build_context, tune_gc
    from server.sync import service
    from server.tenancy import service as tenancy
    from sync.protocol import PushRequest

    workdir = tempfile.mkdtemp(prefix="tillsync-syncprof-")
    try:
        with database(args.pg, workdir) as url:
            codes, _org, cashier = seed(url, 1, 2000)
            env = server_env(url)
            settings = Settings(database_url=url, run_migrations=False,
                                server_data_key=env["TILLSYNC_SERVER_DATA_KEY"])
            ctx = build_context(settings)
            tune_gc()  # as the server process does at start-up
            with ctx.writer.begin() as s:
                enrolled = tenancy.enroll(s, codes[0][1], "Profiler")
            with ctx.reader() as s:
                term = s.get(Terminal, enrolled.device_id)
                assert term is not None
                from server.context import TerminalPrincipal
                principal = TerminalPrincipal(term.id, term.org_id, term.store_id,
                                              term.device_code)
            till = Till(enrolled.device_id, enrolled.device_code, enrolled.store_id, "", cashier)
            rng = random.Random(1)
            ops = [sale_op(till, rng) for _ in range(args.ops)]
            statements = [0]

            @event.listens_for(ctx.engine, "before_cursor_execute")
            def _count(*_a: Any) -> None:
                statements[0] += 1

            applied = 0
            # thread CPU, not wall time: the writer waits on fsync and PostgreSQL
            prof = cProfile.Profile(time.thread_time) if args.profile else None
            # the push is written by the writer thread: its own CPU (the decision and the
            # driver's work in Python, SQLite's too) is measured, and profiled, there
            from server.sync.group_commit import GroupCommit
            plain_apply = GroupCommit._apply
            writer_cpu = [0.0]

            def _measured(self: Any, ctx_: Any, group: Any) -> None:
                t0 = time.thread_time()
                if prof is not None:
                    prof.enable()
                try:
                    plain_apply(self, ctx_, group)
                finally:
                    if prof is not None:
                        prof.disable()
                    writer_cpu[0] += time.thread_time() - t0
            GroupCommit._apply = _measured  # type: ignore[method-assign,assignment]
            phases = _time_phases() if args.phases else None
            batch_times = []
            # the request's side as server/sync/fast_push.py runs it: the JSON body
            # parsed, the push, the response written (HTTP itself left out)
            bodies = [json.dumps({"operations": ops[i:i + args.batch]}).encode()
                      for i in range(0, len(ops), args.batch)]
            started = time.perf_counter()
            cpu0, db_cpu0 = time.process_time(), database_cpu()
            for body in bodies:
                t0 = time.perf_counter()
                req = PushRequest.model_validate_json(body)
                resp = asyncio.run(service.push(ctx, principal, req))
                resp.model_dump_json().encode()
                batch_times.append(time.perf_counter() - t0)
                applied += sum(1 for r in resp.results if r.status.value == "applied")
            total = time.perf_counter() - started
            cpu, db_cpu = time.process_time() - cpu0, database_cpu() - db_cpu0
            print(f"load average {os.getloadavg()[0]:.2f}; "
                  f"{'PostgreSQL' if args.pg else 'SQLite'}: {len(ops)} ops in batches of "
                  f"{args.batch}: {total:.2f} s, {len(ops) / total:,.0f} ops/s, applied "
                  f"{applied}, {statements[0] / len(ops):.1f} SQL statements/op; CPU: server {cpu:.2f} s "
                  f"({cpu / len(ops) * 1000:.3f} ms/op), "
                  f"PostgreSQL {db_cpu:.2f} s; push writer thread {writer_cpu[0]:.2f} s "
                  f"({writer_cpu[0] / len(ops) * 1000:.3f} ms/op)")
            print("per batch (ms):", " ".join(f"{t * 1000:.0f}" for t in batch_times))
            if phases is not None:
                restore, spent = phases
                restore()
                print("writer thread CPU by phase (ms/op; indented = inside the one above):")
                for name, _path in PHASES:
                    print(f"  {name:<44} {spent[name] / len(ops) * 1000:.3f}")
                print(f"  {'request side (process - writer thread)':<44} "
                      f"{(cpu - writer_cpu[0]) / len(ops) * 1000:.3f}")
            if args.pg:
                _print_scans(ctx.engine)
            ctx.engine.dispose()
            GroupCommit._apply = plain_apply  # type: ignore[method-assign]
            if prof is not None:
                pstats.Stats(prof).sort_stats(args.sort).print_stats(args.top)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


#: (label, "module:attribute path") of what --phases times, as the writer calls them
PHASES = [
    ("look-ups (bulk_run.load)", "server.sync.bulk:bulk_run.load"),
    ("per-op decision + buffering", "server.sync.bulk:BulkOrders._order_create"),
    ("  order_decision.decide", "server.sync.bulk:decide"),
    ("    payload parsed (OrderCreate)", "server.sync.order_decision:parse_payload"),
    ("    checks (_check)", "server.sync.order_decision:_check"),
    ("    flags (_flags)", "server.sync.order_decision:_flags"),
    ("    totals (_server_totals)", "server.sync.order_decision:_server_totals"),
    ("    rows, states, events (_applied)", "server.sync.order_decision:_applied"),
    ("      stock movements (_stock)", "server.sync.order_decision:_stock"),
    ("      order state (order_state_of)", "server.sync.order_decision:order_state_of"),
    ("  _buffer", "server.sync.bulk:BulkOrders._buffer"),
    ("results (result_of + Batch.store)", "server.sync.chunk:result_of"),
    ("  Batch.store", "server.sync.chunk:Batch.store"),
    ("bulk rows (orders .. deliveries)", "server.sync.bulk:insert_rows"),
    ("analytics rollups (consume_rows)", "server.sync.bulk:consume_rows"),
    ("levels, counters (execute_rows)", "server.sync.bulk:execute_rows"),
    ("results, quarantine rows", "server.sync.chunk:insert_rows"),
    ("feed positions and rows (assign)", "server.feed.writer:FeedWriter.assign"),
    ("journal seal", "server.journal.chain:seal_connection"),
]


def _time_phases() -> tuple[Any, dict[str, float]]:
    """Wrap each function of PHASES to add its thread CPU to ``spent``; (undo, spent)."""
    import importlib
    spent = {name: 0.0 for name, _ in PHASES}
    undo = []
    for name, path in PHASES:
        module_name, attr = path.split(":")
        owner: Any = importlib.import_module(module_name)
        *parents, leaf = attr.split(".")
        for part in parents:
            owner = getattr(owner, part)
        plain = getattr(owner, leaf)

        def timed(*a: Any, _plain: Any = plain, _name: str = name, **kw: Any) -> Any:
            t0 = time.thread_time()
            try:
                return _plain(*a, **kw)
            finally:
                spent[_name] += time.thread_time() - t0
        setattr(owner, leaf, timed)
        undo.append((owner, leaf, plain))

    def restore() -> None:
        for owner, leaf, plain in reversed(undo):
            setattr(owner, leaf, plain)
    return restore, spent


def _print_scans(engine: Any) -> None:
    """Sequential scans of the tables a push reads: a cached generic plan or stale
    statistics show up here as rows read in the millions."""
    from sqlalchemy import text
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT relname, seq_scan, seq_tup_read, idx_scan, n_live_tup FROM pg_stat_user_tables"
            " WHERE seq_tup_read > 0 ORDER BY seq_tup_read DESC LIMIT 12")).all()
        written = conn.execute(text(
            "SELECT relname, n_tup_ins, n_tup_upd FROM pg_stat_user_tables"
            " WHERE n_tup_ins + n_tup_upd > 0 ORDER BY n_tup_ins + n_tup_upd DESC")).all()
    print("sequential scans (table, scans, rows read, index scans, live rows):")
    for r in rows:
        print(f"  {r.relname:<20} {r.seq_scan:>6} {r.seq_tup_read:>12,} {r.idx_scan or 0:>8} {r.n_live_tup:>8,}")
    print("rows written (table, inserted, updated; seeding included):")
    for r in written:
        print(f"  {r.relname:<20} {r.n_tup_ins:>10,} {r.n_tup_upd:>10,}")


if __name__ == "__main__":
    raise SystemExit(main())
