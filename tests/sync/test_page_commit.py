"""A feed page commits with SQLite ``synchronous=NORMAL`` (no fsync of its own), and
nothing else does: the connection is back at ``FULL`` for the next write, on this
thread or another (sync/page_commit.py). A real store file."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

from sqlalchemy import text

from app.store.local import open_store
from sync import state
from sync.protocol import Change
from sync.pull import apply_page

NORMAL, FULL = 1, 2


def _level(s: object) -> int:
    return int(s.execute(text("PRAGMA synchronous")).scalar_one())  # type: ignore[attr-defined]


def _store_change(n: int) -> Change:
    sid = str(uuid.uuid5(uuid.NAMESPACE_URL, "store"))
    return Change(position=n, entity_type="store", entity_id=sid, version=n,
                  data={"id": sid, "name": f"Store {n}", "currency": "EUR"})


def test_a_feed_page_alone_commits_without_fsync(tmp_path: Path) -> None:
    store = open_store(tmp_path / "till")
    try:
        seen: list[int] = []
        with store.db.write() as s:
            seen.append(_level(s))
            state.set_state(s, state.CURSOR, "0")

        def hook(change: Change) -> None:  # inside the page: what this thread checks out
            raw = store.db.writer.raw_connection()
            try:
                seen.append(int(raw.cursor().execute("PRAGMA synchronous").fetchone()[0]))
            finally:
                raw.close()

        apply_page(store, [_store_change(1)], 0, 1, hook=hook)
        with store.db.write() as s:  # the same pooled connection, after the page: FULL
            seen.append(_level(s))
            assert state.cursor(s) == 1

        def page_level() -> None:
            from sync import page_commit

            with page_commit.relaxed(store.db.writer), store.db.write() as s:
                seen.append(_level(s))

        t = threading.Thread(target=page_level)
        t.start()
        t.join()
        with store.db.write() as s:
            seen.append(_level(s))
        apply_page(store, [_store_change(2)])  # a snapshot page: its cursor comes later
        with store.db.write() as s:
            seen.append(_level(s))
        assert seen == [FULL, NORMAL, FULL, NORMAL, FULL, FULL]
    finally:
        store.close()
