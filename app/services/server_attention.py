"""What the server last said needs attention (``GET /attention/terminal``), as this till
keeps it: the sync service stores the answer with the time it was fetched in the
``sync_state`` table (sync/attention_pull.py), and the "needs attention" list
(app/services/attention.py) shows its silent tills and journal problem with how fresh
that is, online or not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from app.store.local import LocalStore
from app.store.models import SyncState

#: the sync_state key of the latest answer: {"fetched_at": iso, "answer": {...}}
KEY = "server_attention"
#: the sync_state key of the latest attempt (iso), answered or not
TRIED_KEY = "server_attention_tried"
#: the server's items the till shows (the rest have their own place on the till)
SHOWN = ("silent_terminals", "journal")


@dataclass(frozen=True)
class SilentTill:
    name: str
    last_seen_at: datetime | None


@dataclass(frozen=True)
class ServerItem:
    key: str
    count: int
    text: str


@dataclass(frozen=True)
class ServerAttention:
    """The server's latest answer: its items and the details the till shows."""

    fetched_at: datetime
    items: list[ServerItem] = field(default_factory=list)
    silent: list[SilentTill] = field(default_factory=list)
    journal_state: str | None = None
    journal_problem: str | None = None
    journal_checked_at: datetime | None = None


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        found = datetime.fromisoformat(value)
    except ValueError:
        return None
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def encode(answer: dict[str, Any], fetched_at: datetime) -> str:
    return json.dumps({"fetched_at": fetched_at.isoformat(), "answer": answer}, default=str)


def decode(raw: str | None) -> ServerAttention | None:
    """The stored answer, or None when there is none (or it cannot be read)."""
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    fetched = _when(data.get("fetched_at")) if isinstance(data, dict) else None
    answer = data.get("answer") if isinstance(data, dict) else None
    if fetched is None or not isinstance(answer, dict):
        return None
    items = [ServerItem(str(i.get("key")), int(i.get("count") or 0), str(i.get("text") or ""))
             for i in answer.get("items") or [] if isinstance(i, dict)]
    silent = [SilentTill(str(t.get("name") or t.get("terminal_id")), _when(t.get("last_seen_at")))
              for t in answer.get("silent_terminals") or [] if isinstance(t, dict)]
    found = answer.get("journal")
    journal: dict[str, Any] = found if isinstance(found, dict) else {}
    return ServerAttention(fetched, items, silent, journal.get("state"), journal.get("problem"),
                           _when(journal.get("checked_at")))


def save(s: Session, answer: dict[str, Any], fetched_at: datetime) -> None:
    row = s.get(SyncState, KEY)
    if row is None:
        s.add(SyncState(key=KEY, value=encode(answer, fetched_at)))
    else:
        row.value = encode(answer, fetched_at)


def read(store: LocalStore) -> ServerAttention | None:
    with store.db.read() as s:
        row = s.get(SyncState, KEY)
        return decode(row.value if row is not None else None)


def as_of_words(fetched_at: datetime, now: datetime) -> str:
    """"as of 14:05" today, "as of 2 Dec 14:05" before (local time)."""
    local, today = fetched_at.astimezone(), now.astimezone().date()
    if local.date() == today:
        return f"as of {local:%H:%M}"
    return f"as of {local.day} {local:%b %H:%M}"
