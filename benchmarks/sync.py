"""``python -m benchmarks.sync``: the sync benchmarks (see benchmarks/sync_bench.py)."""

from benchmarks.sync_bench import main

if __name__ == "__main__":
    raise SystemExit(main())
