"""The Tillsync server for ``python -m benchmarks.peer``: uvicorn as benchmarks/sync_bench.py
runs it (one worker, 127.0.0.1), with one optional knob for the fairness check.

``python -m benchmarks.peer_server --port N [--sync full|normal]``. With ``normal``
every SQLite connection is switched to ``PRAGMA synchronous=NORMAL`` when it is checked
out (WAL: commits are no longer fsynced, only checkpoints are; a power cut may lose the
last commits, as LevelDB without sync may). ``full`` changes nothing: the server as shipped.
"""

from __future__ import annotations

import argparse
import sqlite3
from typing import Any

from sqlalchemy import event
from sqlalchemy.pool import Pool


def _relax(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
    if isinstance(dbapi_conn, sqlite3.Connection) and not record.info.get("peer_relaxed"):
        dbapi_conn.execute("PRAGMA synchronous=NORMAL")
        record.info["peer_relaxed"] = True


def relax_sqlite_durability() -> None:
    """Every SQLite connection of this process runs synchronous=NORMAL from its next checkout."""
    if not event.contains(Pool, "checkout", _relax):
        event.listen(Pool, "checkout", _relax)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.peer_server")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--sync", choices=("full", "normal"), default="full")
    args = parser.parse_args(argv)
    if args.sync == "normal":
        relax_sqlite_durability()
    import uvicorn

    uvicorn.run("server.main:create_app", factory=True, host="127.0.0.1", port=args.port,
                log_level="warning", access_log=False, limit_concurrency=1000, backlog=2048)


if __name__ == "__main__":
    main()
