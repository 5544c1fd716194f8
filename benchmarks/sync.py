"""``python -m benchmarks.sync [--pg|--pg-only] [--ops N] [--pull N] [--terminals N]``.

The sync benchmarks against a real server under uvicorn on 127.0.0.1 (one process, on a
fresh SQLite file or, with ``--pg``, a temporary PostgreSQL database):

1. pull: 100,000 feed changes pulled in pages of 1,000 (benchmarks/sync_bench.py);
2. push end to end: a real terminal's outbox of 10,000 recorded sales pushed by its own
   sync code (benchmarks/sync_terminal.py; target < 5 s), after its first sync;
3. push, server side: 10,000 sales posted in batches of 500 by a raw HTTP client
   (target < 5 s), which shows the server's share of (2);
4. 100 terminals pushing at once, with two same-run baselines
   (benchmarks/sync_concurrent.py; target p95 < 100 ms, no errors).

Exit status 1 if a target is missed. The machine's load average is printed with each
measure: on a shared machine it explains more of a bad p99 than the code does.
"""

from __future__ import annotations

import argparse
import gc
import shutil
import tempfile
import time

from benchmarks.sync_bench import (
    Result,
    bench_pull,
    bench_push,
    database,
    enroll,
    more_codes,
    report,
    seed,
    server_process,
)
from benchmarks.sync_concurrent import bench_concurrent
from benchmarks.sync_terminal import bench_terminal_push


def run(pg: bool, ops: int, pull: int, terminals: int, rounds: int) -> list[Result]:
    workdir = tempfile.mkdtemp(prefix="tillsync-syncbench-")
    results: list[Result] = []
    try:
        with database(pg, workdir) as url:
            stores = max(1, terminals // 4)
            products = max(2000, pull // 2 + 1000)  # ~2 feed changes each (product, stock)
            t0 = time.perf_counter()
            codes, _org, cashier = seed(url, stores, products)
            print(f"seeded {len(codes)} stores and {products:,} products "
                  f"in {time.perf_counter() - t0:.1f} s ({'PostgreSQL' if pg else 'SQLite'})")
            with server_process(url) as base:
                # enrollment codes are one-time: one per store from seed, more made here
                pusher = enroll(base, codes[0][1], cashier, "Pusher")
                results.append(bench_pull(base, pusher, pull))
                # the terminal first: its first sync then loads the store's catalog and
                # stock, not also the 10,000 orders of the server-side push
                till_code = more_codes(url, [codes[0][0]], 1)[0]
                results.extend(bench_terminal_push(base, till_code, cashier, ops, workdir))
                results.append(bench_push(base, pusher, ops))
                gc.collect()  # the terminal's run left garbage: not the tills' pauses to pay
                gc.freeze()
                extra = more_codes(url, [sid for sid, _ in codes], 4)
                many = [enroll(base, code, cashier, f"Till {i}") for i, code in enumerate(extra)]
                results.extend(bench_concurrent(base, many[:terminals], rounds))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sync", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pg", action="store_true", help="also run against PostgreSQL")
    parser.add_argument("--pg-only", action="store_true", help="only PostgreSQL")
    parser.add_argument("--ops", type=int, default=10_000)
    parser.add_argument("--pull", type=int, default=100_000)
    parser.add_argument("--terminals", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=10, help="pushes per terminal")
    args = parser.parse_args(argv)
    backends = ([] if args.pg_only else [False]) + ([True] if args.pg or args.pg_only else [])
    failed = False
    for pg in backends:
        results = run(pg, args.ops, args.pull, args.terminals, args.rounds)
        report(results, "PostgreSQL" if pg else "SQLite file, WAL, synchronous=FULL")
        failed |= any(r.passed is False for r in results)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
