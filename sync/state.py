"""The sync client's bookkeeping in the SyncState key/value table.

Why here and not in new tables: app/store/models.py belongs to the core and has
no conflict table yet. Keys used:

- ``pull_cursor``: last feed position applied (written in the same transaction as
  the data it covers, never before).
- ``last_sync``, ``clock_skew_s``: for the status bar.
- ``open_conflicts``: count of open conflict records (read by sync/status.py).
- ``conflict:<op_id>``: JSON of one conflict the server reported for our operation
  (both sides are on the server; we keep what the manager needs to find it).
- ``deferred:<entity_id>``: the newest pulled change we did not apply because the
  entity had unpushed local operations; re-considered once the outbox is clear of
  that entity (e.g. our edit was rejected, so the server state must be taken).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.store.models import SyncState

CURSOR = "pull_cursor"
LAST_SYNC = "last_sync"
CLOCK_SKEW = "clock_skew_s"
OPEN_CONFLICTS = "open_conflicts"
CONFLICT_PREFIX = "conflict:"
DEFERRED_PREFIX = "deferred:"


def get_state(s: Session, key: str, default: str | None = None) -> str | None:
    row = s.get(SyncState, key)
    return row.value if row is not None else default


def set_state(s: Session, key: str, value: str) -> None:
    row = s.get(SyncState, key)
    if row is None:
        s.add(SyncState(key=key, value=value))
    else:
        row.value = value


def del_state(s: Session, key: str) -> None:
    s.execute(delete(SyncState).where(SyncState.key == key))


def cursor(s: Session) -> int:
    return int(get_state(s, CURSOR, "0") or 0)


def record_conflict(s: Session, op_id: str, record: dict[str, Any]) -> None:
    set_state(s, CONFLICT_PREFIX + op_id, json.dumps(record, default=str))
    refresh_conflict_count(s)


def refresh_conflict_count(s: Session) -> int:
    s.flush()
    n = s.scalar(select(func.count()).select_from(SyncState)
                 .where(SyncState.key.like(CONFLICT_PREFIX + "%"))) or 0
    open_n = 0
    if n:
        for (value,) in s.execute(select(SyncState.value)
                                  .where(SyncState.key.like(CONFLICT_PREFIX + "%"))):
            if json.loads(value).get("status", "open") == "open":
                open_n += 1
    set_state(s, OPEN_CONFLICTS, str(open_n))
    return open_n


def conflicts(s: Session) -> list[dict[str, Any]]:
    rows = s.execute(select(SyncState.value).where(SyncState.key.like(CONFLICT_PREFIX + "%")))
    return [json.loads(v) for (v,) in rows]


def mark_conflict_resolved(s: Session, conflict_id: str, resolution: dict[str, Any] | None) -> None:
    """A pulled ``conflict`` change closed one of ours: keep the record, mark it resolved."""
    for row in s.scalars(select(SyncState).where(SyncState.key.like(CONFLICT_PREFIX + "%"))):
        record = json.loads(row.value)
        if record.get("conflict_id") == conflict_id:
            record["status"] = "resolved"
            record["resolution"] = resolution
            row.value = json.dumps(record, default=str)
    refresh_conflict_count(s)


def defer(s: Session, entity_id: str, change: dict[str, Any]) -> None:
    key = DEFERRED_PREFIX + entity_id
    old = get_state(s, key)
    if old is not None and json.loads(old).get("version", 0) > change.get("version", 0):
        return
    set_state(s, key, json.dumps(change, default=str))


def deferred(s: Session) -> list[dict[str, Any]]:
    rows = s.execute(select(SyncState.value).where(SyncState.key.like(DEFERRED_PREFIX + "%")))
    return [json.loads(v) for (v,) in rows]
