"""Stock benchmarks, one command: ``python -m benchmarks.stock``.

1. CSV import of a generated 100,000-row catalog file (benchmarks/stock_import.py),
   target < 20 s, next to parsing the file with the csv module alone;
2. a count session of 10,000 scans through the inventory screen, scan to row
   visible p50/p99 (benchmarks/stock_count.py), target p99 <= 16 ms, next to a
   bare repaint of the same table.

Options: ``--rows``, ``--scans``, ``--products`` (distinct products counted).
Exit status 1 if a target fails.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
PASSPHRASE = "bench-only-passphrase"
os.environ.setdefault("TILLSYNC_KEY_PASSPHRASE", PASSPHRASE)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.stock")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--scans", type=int, default=10_000)
    parser.add_argument("--products", type=int, default=1_500)
    args = parser.parse_args(argv)

    from app import demo
    from app.services import staff
    from app.store.local import open_store
    from benchmarks.stock_count import bench_count, print_count
    from benchmarks.stock_import import bench_import, print_import

    with tempfile.TemporaryDirectory(prefix="tillsync-stock-bench-") as tmp:
        store = open_store(Path(tmp), passphrase=PASSPHRASE)
        demo.seed(store, 2000)
        clerk = staff.sign_in(store, "1004", "4444")
        print(f"{'measure':<40} {'n':>7} {'p50':>10} {'p99':>10}")
        print("-" * 96)
        ok_import = print_import(bench_import(store, clerk, args.rows))
        ok_count = print_count(bench_count(store, args.scans, args.products))
        store.close()
    return 0 if ok_import and ok_count else 1


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    # Skip interpreter teardown: PySide6 objects collected during finalization can
    # abort the process (none_dealloc) after the results were printed.
    os._exit(code)
