"""The sync client's bookkeeping in the SyncState key/value table.

Conflicts have their own table now (sync/conflicts.py); older clients kept them
here as ``conflict:<op_id>`` JSON, which sync/conflicts.py ``migrate_legacy`` moves.
Keys used:

- ``pull_cursor``: last feed position applied (written in the same transaction as
  the data it covers, never before).
- ``last_sync``, ``clock_skew_s``: for the status bar.
- ``deferred:<entity_id>``: the newest pulled change we did not apply because the
  entity had unpushed local operations; re-considered once the outbox is clear of
  that entity (e.g. our edit was rejected, so the server state must be taken).
- ``resync``: the next pull loads a snapshot first (set when the till or the server was
  restored from a backup, sync/recovery.py; removed with the snapshot's cursor).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.store.models import SyncState

CURSOR = "pull_cursor"
LAST_SYNC = "last_sync"
CLOCK_SKEW = "clock_skew_s"
DEFERRED_PREFIX = "deferred:"
RESYNC = "resync"


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


def defer(s: Session, entity_id: str, change: dict[str, Any]) -> None:
    key = DEFERRED_PREFIX + entity_id
    old = get_state(s, key)
    if old is not None and json.loads(old).get("version", 0) > change.get("version", 0):
        return
    set_state(s, key, json.dumps(change, default=str))


def deferred(s: Session) -> list[dict[str, Any]]:
    rows = s.execute(select(SyncState.value).where(SyncState.key.like(DEFERRED_PREFIX + "%")))
    return [json.loads(v) for (v,) in rows]
