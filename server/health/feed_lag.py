"""How far behind its store's change feed each till is: its last pulled cursor, kept cheaply.

The pull endpoint calls :func:`pulled` with the cursor each answer hands the till (the
position it will continue from). The cursor is noted in memory; at most every
:data:`FLUSH_S` seconds per process, the pull that finds the time up writes every till's
newest noted cursor in one transaction (an upsert of ``server_meta`` rows, key
:data:`CURSOR_PREFIX` + terminal id), so a till that pulls every 15 s costs one row write
in that shared transaction, and a fleet of 1,000 tills one small transaction every 5 s,
not 1,000 writes. Only one thread flushes at a time; the others just note. A process
that stops loses at most the last :data:`FLUSH_S` seconds of cursors (the next pulls
write them again).

At a scrape (server/metrics_fleet.py) :func:`read_feed_lags` gives, per till that has
pulled: the changes its store's feed holds past its cursor (the store's head minus the
cursor), the age of the oldest of them (0 when it has pulled everything), and when it
last pulled. Three queries: the cursor rows (a key range of server_meta's primary key),
the stores' heads, and the entries just past each lagging till's cursor (by the feed's
(store_id, position) unique index).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from server.db.models import FeedEntry, ServerMeta, Store

if TYPE_CHECKING:  # server.context imports the metrics, which import this module
    from server.context import AppContext, TerminalPrincipal

log = logging.getLogger("tillsync.server.metrics")

#: server_meta keys of the tills' pull cursors: CURSOR_PREFIX + terminal id
CURSOR_PREFIX = "feed_cursor/"
_CURSOR_END = CURSOR_PREFIX[:-1] + chr(ord(CURSOR_PREFIX[-1]) + 1)
#: at most this often a process writes the cursors it noted
FLUSH_S = 5.0
_EXTRAS_KEY = "feed_cursors"


def _epoch(at: datetime) -> float:
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


class FeedCursors:
    """The cursors this process handed out since its last flush, and when that was."""

    def __init__(self, flush_s: float = FLUSH_S) -> None:
        self.flush_s = flush_s
        self._noted: dict[str, tuple[str, int, float]] = {}
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._flushed_at = time.monotonic()

    def note(self, terminal_id: str, store_id: str, cursor: int, at: float | None = None
             ) -> None:
        with self._lock:
            self._noted[terminal_id] = (store_id, cursor, time.time() if at is None else at)

    def due(self) -> bool:
        return time.monotonic() - self._flushed_at >= self.flush_s

    def flush(self, engine: Engine) -> int:
        """Write the noted cursors in one transaction; how many (0 if another thread is
        writing, or nothing was noted). A failed write keeps them for the next flush."""
        if not self._flushing.acquire(blocking=False):
            return 0
        try:
            with self._lock:
                noted, self._noted = self._noted, {}
                self._flushed_at = time.monotonic()
            if not noted:
                return 0
            rows = [{"key": CURSOR_PREFIX + tid, "value": json.dumps(
                {"store": store, "cursor": cursor, "at": round(at, 3)})}
                for tid, (store, cursor, at) in sorted(noted.items())]
            try:
                with engine.begin() as conn:
                    conn.execute(_later_wins(conn.dialect.name), rows)
            except SQLAlchemyError:
                log.warning("could not write %d feed cursors; kept for the next flush",
                            len(rows), exc_info=True)
                with self._lock:
                    for tid, value in noted.items():
                        self._noted.setdefault(tid, value)
                return 0
            return len(rows)
        finally:
            self._flushing.release()


def _later_wins(dialect: str) -> Any:
    """The cursor upsert that keeps a row noted later: with several server processes, one
    may flush a till's older pull after another flushed its newer one."""
    if dialect == "postgresql":
        stmt: Any = pg_insert(ServerMeta)
        older = text("CAST(CAST(server_meta.value AS json)->>'at' AS float8) < "
                     "CAST(CAST(excluded.value AS json)->>'at' AS float8)")
    else:
        stmt = sqlite_insert(ServerMeta)
        older = text("json_extract(server_meta.value, '$.at') < "
                     "json_extract(excluded.value, '$.at')")
    return stmt.on_conflict_do_update(index_elements=["key"],
                                      set_={"value": stmt.excluded.value}, where=older)


def cursors_of(ctx: AppContext) -> FeedCursors:
    found = ctx.extras.get(_EXTRAS_KEY)
    if not isinstance(found, FeedCursors):
        found = ctx.extras.setdefault(_EXTRAS_KEY, FeedCursors())
    assert isinstance(found, FeedCursors)
    return found


def pulled(ctx: AppContext, terminal: TerminalPrincipal, cursor: int) -> None:
    """A pull answered ``terminal`` up to ``cursor`` (the one-line call of GET /sync/pull);
    writes the noted cursors when :data:`FLUSH_S` is up."""
    if terminal.terminal_id is None:
        return
    cursors = cursors_of(ctx)
    cursors.note(terminal.terminal_id, terminal.store_id, cursor)
    if cursors.due():
        cursors.flush(ctx.engine)


def _entries_at(session: Session, wanted: list[tuple[str, int]]) -> Any:
    """(store_id, position, created_at) of these feed entries, each found by the feed's
    (store_id, position) unique index. On PostgreSQL a join with the unnested pairs (a
    row-value IN list of 1,000 pairs took it 100 ms); SQLite probes each pair of the list."""
    f = FeedEntry
    columns = (f.store_id, f.position, f.created_at)
    if session.get_bind().dialect.name != "postgresql":
        return select(*columns).where(tuple_(f.store_id, f.position).in_(wanted))
    return text(
        "SELECT f.store_id, f.position, f.created_at FROM feed_entries AS f"
        " JOIN unnest(CAST(:sids AS varchar[]), CAST(:positions AS bigint[])) AS w(sid, pos)"
        " ON f.store_id = w.sid AND f.position = w.pos"
    ).bindparams(sids=[s for s, _ in wanted], positions=[p for _, p in wanted]).columns(
        *columns)


@dataclass(frozen=True)
class FeedLag:
    store_id: str
    #: changes of the store's feed past the till's cursor
    changes: int
    #: age of the oldest of them (0: it has pulled everything)
    seconds: float
    #: when it last pulled (as noted; up to FLUSH_S older than the truth)
    pulled_at: float


def read_feed_lags(session: Session, now: datetime) -> dict[str, FeedLag]:
    """Each till's feed lag at ``now`` (module docstring), by terminal id."""
    noted: dict[str, tuple[str, int, float]] = {}
    for key, value in session.execute(select(ServerMeta.key, ServerMeta.value).where(
            ServerMeta.key >= CURSOR_PREFIX, ServerMeta.key < _CURSOR_END)):
        try:
            doc: dict[str, Any] = json.loads(value)
            noted[key[len(CURSOR_PREFIX):]] = (str(doc["store"]), int(doc["cursor"]),
                                               float(doc["at"]))
        except (ValueError, KeyError, TypeError):
            log.warning("unreadable feed cursor %s", key)
    if not noted:
        return {}
    stores = {s for s, _, _ in noted.values()}
    heads: dict[str, int] = {sid: int(pos) for sid, pos in session.execute(
        select(Store.id, Store.feed_position).where(Store.id.in_(sorted(stores))))}
    behind = sorted({(s, c + 1) for s, c, _ in noted.values() if c < heads.get(s, 0)})
    first_unpulled: dict[tuple[str, int], float] = {}
    if behind:
        first_unpulled = {(s, p): _epoch(at) for s, p, at in session.execute(
            _entries_at(session, behind))}
    clock = _epoch(now)
    out = {}
    for tid, (store, cursor, at) in noted.items():
        changes = max(heads.get(store, cursor) - cursor, 0)
        since = first_unpulled.get((store, cursor + 1), at) if changes else clock
        out[tid] = FeedLag(store, changes, max(clock - since, 0.0), at)
    return out
