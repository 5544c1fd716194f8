"""``python -m benchmarks.peer``: Tillsync against PouchDB in the same run (issue 17).

Two workloads, the two systems alternating (round 1 Tillsync first, round 2 PouchDB
first, ...), 3 rounds or more, the load average printed before each round:

1. PULL: a terminal pulls ~100,000 feed changes (orders from another till, products,
   stock movements) and applies them to its store. Tillsync: a real enrolled terminal's
   ``sync.pull.pull_changes`` against the server under uvicorn on 127.0.0.1. PouchDB:
   ``replicate.from`` of one document per change from pouchdb-server (LevelDB) into a
   new local PouchDB (LevelDB). Also the raw HTTP pull of the same pages, nothing
   applied: the limit of the pull.
2. PUSH: 10,000 queued sales. Tillsync: a terminal that recorded them with
   ``record_sale`` (not timed) runs ``sync.push.push_pending`` (timed). PouchDB:
   ``replicate.to`` of the same operations, one document each, into a new database.

PouchDB 9 (pouchdb-node) and pouchdb-server 4.2 are installed from npm into
benchmarks/peer_js/node_modules (benchmarks/peer_pouch.py); without node or npm the
benchmark prints a SKIP line and exits 0. It is a measurement: the verdict against
the issue's targets is printed, the exit status is 0 unless something broke.
How it is fair, and what was measured: benchmarks/notes/peer.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DEFAULT_CHANGES = 100_000
DEFAULT_SALES = 10_000


@dataclass
class Series:
    name: str
    seconds: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def min(self) -> float:
        return min(self.seconds)


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.peer", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=3, help="rounds per workload (default 3)")
    p.add_argument("--changes", type=int, default=DEFAULT_CHANGES,
                   help="feed changes the terminal pulls (default 100,000)")
    p.add_argument("--sales", type=int, default=DEFAULT_SALES,
                   help="queued sales pushed (default 10,000)")
    p.add_argument("--workload", choices=("pull", "push", "both"), default="both")
    p.add_argument("--pg", action="store_true",
                   help="Tillsync's server on a temporary PostgreSQL database, not SQLite")
    p.add_argument("--tillsync-sync", choices=("full", "normal"), default="full",
                   help="SQLite synchronous= of Tillsync's terminal and server: full as "
                        "shipped (every commit fsynced), or normal (WAL commits not "
                        "fsynced, closer to LevelDB without sync)")
    p.add_argument("--page", type=int, default=None,
                   help="changes per pull page asked by the terminal (default: as the app "
                        "asks, the server's default then 5000 while 5000 or more behind)")
    p.add_argument("--pouch-batch-size", type=int, default=None,
                   help="PouchDB batch_size (default: the same as Tillsync's pull page / "
                        "push batch)")
    p.add_argument("--pouch-batches-limit", type=int, default=10,
                   help="PouchDB batches_limit (default 10, PouchDB's own)")
    args = p.parse_args(argv)
    if args.rounds < 1 or args.changes < 1000 or args.sales < 1:
        p.error("--rounds >= 1, --changes >= 1000, --sales >= 1")
    return args


def order_of(round_no: int) -> tuple[str, str]:
    """Alternating: odd rounds Tillsync first, even rounds PouchDB first."""
    return ("tillsync", "pouchdb") if round_no % 2 else ("pouchdb", "tillsync")


VERDICTS: list[tuple[str, bool]] = []


def verdict(ok: bool, label: str) -> str:
    """PASS/FAIL, remembered for the closing verdict line."""
    VERDICTS.append((label, ok))
    return "PASS" if ok else "FAIL"


def print_series(rows: list[Series], unit_n: int, what: str) -> None:
    print(f"    {'':<44}{'min s':>9}{'median s':>10}{what:>16}")
    for s in rows:
        print(f"    {s.name:<44}{s.min:9.2f}{s.median:10.2f}"
              f"{s.median / unit_n * 1000:16.3f}")


def ratio_lines(ts: Series, pdb: Series, work: str) -> bool:
    ratio = ts.median / pdb.median
    speed = pdb.median / ts.median
    how = (f"is {speed:.2f}x faster than" if speed >= 1
           else f"takes {ratio:.2f}x the time of")
    print(f"    ratio of medians Tillsync/PouchDB: {ratio:.2f} (Tillsync {how} PouchDB)")
    ok = speed >= 3
    print(f"    target: Tillsync at least 3x faster than PouchDB (ratio <= 0.33): "
          f"{verdict(ok, f'{work} >= 3x PouchDB')}")
    return ok


def run_pull(args: argparse.Namespace, workdir: Path, pouch: Any) -> dict[str, Any]:
    from benchmarks import peer_pouch as pp
    from benchmarks import peer_tillsync as pt
    from benchmarks.peer_setup import build_pull, push_other_sales
    from benchmarks.sync_bench import database
    from server.config import Settings
    from sync.pull import CATCH_UP_PAGE

    # the till's pages: the server's default first, then CATCH_UP_PAGE while far behind
    page = args.page or max(Settings().pull_default_limit, CATCH_UP_PAGE)
    pouch_batch = args.pouch_batch_size or page
    (workdir / "pull").mkdir()
    with database(args.pg, str(workdir / "pull")) as url:
        port = pt.free_port()
        t0 = time.perf_counter()
        world = build_pull(url, workdir / "pull", port, args.changes, args.tillsync_sync)
        with pt.tillsync_server(url, port, args.tillsync_sync) as base:
            push_other_sales(base, world)
            docs = pt.feed_documents(base, world.token, world.cursor)
            pp.load_remote(pouch, "feed", docs)
            print(f"pull set up in {time.perf_counter() - t0:.0f} s: {len(docs):,} feed changes "
                  f"past the terminal's cursor ({world.products:,} products with opening "
                  f"stock, {world.sales:,} orders of another till with 3 lines each); the "
                  f"same {len(docs):,} as PouchDB documents on pouchdb-server", flush=True)
            ts, pdb, raw = Series("Tillsync pull_changes (apply)"), \
                Series("PouchDB replicate.from"), Series("raw HTTP pull, nothing applied")
            notes: list[str] = []
            raw_bytes = 0
            for n in range(1, args.rounds + 1):
                load = pt.loadavg()
                for who in order_of(n):
                    if who == "tillsync":
                        pt.restore_dir(world.saved_dir, world.till_dir)
                        r = pt.timed_pull(base, world.till_dir, args.page)
                        if r.count != len(docs):
                            raise RuntimeError(f"Tillsync pulled {r.count}, not {len(docs)}")
                        ts.seconds.append(r.seconds)
                        notes.append(f"Tillsync {r.count:,} pulled, {r.applied:,} applied, "
                                     f"{r.pages} pages, terminal CPU {r.client_cpu_s:.1f} s, "
                                     f"server CPU {r.server_cpu_s:.1f} s")
                    else:
                        out = pp.replicate_from(pouch, "feed", workdir / f"pouch-pull-{n}",
                                                pouch_batch, args.pouch_batches_limit)
                        if out["docs_written"] != len(docs):
                            raise RuntimeError(f"PouchDB wrote {out['docs_written']}")
                        pdb.seconds.append(out["seconds"])
                        notes.append(f"PouchDB {out['docs_written']:,} written, client CPU "
                                     f"{out['cpu_s']:.1f} s, pouchdb-server CPU "
                                     f"{out['server_cpu_s']:.1f} s")
                r = pt.raw_pull(base, world.token, world.cursor, args.page)
                raw.seconds.append(r.seconds)
                raw_bytes = r.nbytes
                print(f"  round {n}: load avg {load:.2f} before; {order_of(n)[0]} first; "
                      f"Tillsync {ts.seconds[-1]:.2f} s, PouchDB {pdb.seconds[-1]:.2f} s, "
                      f"raw HTTP {raw.seconds[-1]:.2f} s ({r.pages} pages)", flush=True)
                for note in notes[-2:]:
                    print(f"      {note}")
    return {"n": len(docs), "ts": ts, "pdb": pdb, "raw": raw, "page": page,
            "pouch_batch": pouch_batch, "change_bytes": raw_bytes / len(docs),
            "doc_bytes": pt.wire_bytes(docs)}


def report_pull(res: dict[str, Any], args: argparse.Namespace) -> None:
    n, ts, pdb, raw = res["n"], res["ts"], res["pdb"], res["raw"]
    print(f"\nPULL: {n:,} feed changes applied by one terminal, {args.rounds} rounds")
    print_series([ts, pdb, raw], n, "ms/change (med)")
    ratio_lines(ts, pdb, "pull")
    print(f"    target: Tillsync pull under 10 s (median {ts.median:.2f} s): "
          f"{verdict(ts.median < 10, 'pull < 10 s')}")
    apply_ms = (ts.median - raw.median) / n * 1000
    read_ms = raw.median / n * 1000
    within = apply_ms / read_ms if read_ms else float("inf")
    print(f"    apply cost per change vs HTTP read: apply {apply_ms:.3f} ms "
          f"(Tillsync minus raw HTTP) vs read {read_ms:.3f} ms = {within:.1f}x; "
          f"target within 3x: {verdict(within <= 3, 'pull apply <= 3x read')}")
    print(f"    batch sizes: Tillsync pages of {res['page']} changes (one local transaction "
          f"each; without --page the first is the server's default, 1000); PouchDB "
          f"batch_size {res['pouch_batch']}, batches_limit "
          f"{args.pouch_batches_limit}")
    print(f"    payload: Tillsync {res['change_bytes']:.0f} B per change on the wire "
          f"(page JSON / changes); PouchDB {res['doc_bytes']:.0f} B per document "
          f"(its JSON, before _rev/_revisions)")


def run_push(args: argparse.Namespace, workdir: Path, pouch: Any) -> dict[str, Any]:
    from benchmarks import peer_pouch as pp
    from benchmarks import peer_tillsync as pt
    from benchmarks.peer_setup import build_push
    from benchmarks.sync_bench import database
    from sync.protocol import MAX_BATCH

    pouch_batch = args.pouch_batch_size or MAX_BATCH
    (workdir / "push").mkdir()
    with database(args.pg, str(workdir / "push")) as url:
        port = pt.free_port()
        t0 = time.perf_counter()
        world = build_push(url, workdir / "push", port, args.sales, args.tillsync_sync)
        print(f"push set up in {time.perf_counter() - t0:.0f} s: {world.queued:,} operations "
              f"queued ({args.sales:,} sales and the shift.open of the first)", flush=True)
        ts, pdb = Series("Tillsync push_pending"), Series("PouchDB replicate.to")
        try:
            for n in range(1, args.rounds + 1):
                load = pt.loadavg()
                notes: list[str] = []
                for who in order_of(n):
                    if who == "tillsync":
                        pt.restore_server(url, "push")
                        pt.restore_dir(world.saved_dir, world.till_dir)
                        with pt.tillsync_server(url, port, args.tillsync_sync) as base:
                            r = pt.timed_push(base, world.till_dir)
                        if r.applied != world.queued:
                            raise RuntimeError(f"Tillsync applied {r.applied}/{world.queued}")
                        ts.seconds.append(r.seconds)
                        notes.append(f"Tillsync {r.applied:,} applied, terminal CPU "
                                     f"{r.client_cpu_s:.2f} s, server CPU "
                                     f"{r.server_cpu_s:.2f} s "
                                     f"({r.server_cpu_s / r.applied * 1000:.3f} ms/op)")
                    else:
                        out = pp.replicate_to(pouch, world.docs_file, workdir / f"pouch-push-{n}",
                                              f"sales_{n}", pouch_batch, args.pouch_batches_limit)
                        if out["docs_written"] != world.queued:
                            raise RuntimeError(f"PouchDB wrote {out['docs_written']}")
                        pdb.seconds.append(out["seconds"])
                        notes.append(f"PouchDB {out['docs_written']:,} written, client CPU "
                                     f"{out['cpu_s']:.2f} s, pouchdb-server CPU {out['server_cpu_s']:.2f} s "
                                     f"({out['server_cpu_s'] / world.queued * 1000:.3f} ms/op)")
                print(f"  round {n}: load avg {load:.2f} before; {order_of(n)[0]} first; "
                      f"Tillsync {ts.seconds[-1]:.2f} s, PouchDB {pdb.seconds[-1]:.2f} s",
                      flush=True)
                for note in notes:
                    print(f"      {note}")
        finally:
            pt.drop_saved(url, "push")
    return {"n": world.queued, "ts": ts, "pdb": pdb, "pouch_batch": pouch_batch,
            "op_bytes": world.op_bytes, "batch": MAX_BATCH}


def report_push(res: dict[str, Any], args: argparse.Namespace, backend: str) -> None:
    n, ts, pdb = res["n"], res["ts"], res["pdb"]
    print(f"\nPUSH: {n:,} queued operations pushed by one terminal, {args.rounds} rounds")
    print_series([ts, pdb], n, "ms/op (median)")
    ratio_lines(ts, pdb, "push")
    print(f"    target: Tillsync push under 1.5 s on {backend} (median {ts.median:.2f} s): "
          f"{verdict(ts.median < 1.5, f'push < 1.5 s ({backend})')}")
    print(f"    batch sizes: Tillsync {res['batch']} operations per POST /sync/push; PouchDB "
          f"batch_size {res['pouch_batch']}, batches_limit {args.pouch_batches_limit}")
    print(f"    payload: {res['op_bytes']:.0f} B per operation for both (the same wire JSON; "
          f"PouchDB adds _id and its _rev/_revisions)")


def fairness(args: argparse.Namespace, backend: str) -> None:
    sync = ("synchronous=FULL: every commit fsynced (as shipped), but a pulled feed "
            "page's (NORMAL: sync/page_commit.py, the page and its cursor are one "
            "transaction, a page lost in a power cut is pulled again)"
            if args.tillsync_sync == "full" else
            "synchronous=NORMAL (--tillsync-sync normal): WAL commits not fsynced")
    server = ("PostgreSQL as this machine's server is configured" if args.pg
              else f"SQLite, {sync.split(':')[0]}")
    print("\nFairness:")
    print(f"    durability: Tillsync's terminal SQLite {sync}; its server {server}. "
          "PouchDB/LevelDB "
          "(leveldown) never fsyncs a write (PouchDB does not ask for sync): a write that "
          "returned may be lost on a power cut.")
    print("    same machine, both servers on 127.0.0.1 and both running throughout the pull; "
          "systems alternate within each round (odd rounds Tillsync first); each round "
          "starts from the same state (terminal folder, and for the push the server's "
          "database, copied back; PouchDB a new local database and, for the push, a new "
          "remote database); Node's and the terminal's start are not timed.")


def run(args: argparse.Namespace) -> int:
    from benchmarks import peer_pouch as pp

    why = pp.tools_missing()
    if why:
        print(f"SKIP: benchmarks.peer needs Node.js and npm for PouchDB: {why}. "
              "Nothing was measured.")
        return 0
    try:
        pp.install()
    except pp.Skip as exc:
        print(f"SKIP: benchmarks.peer could not install PouchDB: {exc}. Nothing was measured.")
        return 0
    if args.tillsync_sync == "normal":
        from benchmarks.peer_server import relax_sqlite_durability

        relax_sqlite_durability()  # the terminal's store, in this process
    backend = "PostgreSQL" if args.pg else "SQLite (WAL)"
    print(f"benchmarks.peer {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Tillsync server on {backend}, "
          f"{args.rounds} rounds, load avg {os.getloadavg()[0]:.2f} at start")
    workdir = Path(tempfile.mkdtemp(prefix="tillsync-peer-"))
    try:
        with pp.pouchdb_server(workdir / "pouchdb-server") as pouch:
            if args.workload in ("pull", "both"):
                res = run_pull(args, workdir, pouch)
                report_pull(res, args)
            if args.workload in ("push", "both"):
                res = run_push(args, workdir, pouch)
                report_push(res, args, backend)
        fairness(args, backend)
        met = sum(ok for _, ok in VERDICTS)
        print(f"\nVerdict: {met} of {len(VERDICTS)} targets of issue 17 met: "
              + ", ".join(f"{label} {'PASS' if ok else 'FAIL'}" for label, ok in VERDICTS))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    return run(parse(argv))


if __name__ == "__main__":
    raise SystemExit(main())
