"""A feed page's transaction commits without its own fsync (SQLite ``synchronous=NORMAL``
for that one transaction); every other write of the till keeps ``synchronous=FULL``.

Why it is safe: a feed page and the cursor that follows it are written in one
transaction (sync/pull.py). In WAL mode, ``NORMAL`` keeps the store consistent through a
power cut and may only lose the last transactions before it, whole: the lost pages lose
their cursor with them and are pulled again (applying is idempotent). The next
``FULL`` commit of anything else (a sale) fsyncs the log, and so every page before it.
Why it pays: the fsync was about a tenth of a page's apply, one a page, for nothing a
power cut could not give back by pulling.

How: ``synchronous`` cannot change inside a transaction, so the pool's ``checkout`` (before
the store's ``BEGIN IMMEDIATE``) sets it on the connection when the thread is applying a
page (:func:`relaxed`), and its ``checkin`` puts ``FULL`` back before the connection can
serve anyone else.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import Engine, event

_RELAXED: ContextVar[bool] = ContextVar("tillsync_page_commit_relaxed", default=False)
_MARK = "tillsync_sync_normal"


def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
    if _RELAXED.get():
        dbapi_conn.execute("PRAGMA synchronous=NORMAL")
        record.info[_MARK] = True


def _on_checkin(dbapi_conn: Any, record: Any) -> None:
    if record is not None and record.info.pop(_MARK, False):
        dbapi_conn.execute("PRAGMA synchronous=FULL")


def install(engine: Engine) -> None:
    """Listen on the store's write engine (once; a no-op for any but SQLite)."""
    if engine.dialect.name != "sqlite" or event.contains(engine.pool, "checkout", _on_checkout):
        return
    event.listen(engine.pool, "checkout", _on_checkout)
    event.listen(engine.pool, "checkin", _on_checkin)


@contextmanager
def relaxed(engine: Engine) -> Iterator[None]:
    """Transactions this thread begins inside are committed without an fsync."""
    install(engine)
    token = _RELAXED.set(True)
    try:
        yield
    finally:
        _RELAXED.reset(token)
