"""What every applier of pulled changes shares: the context of the page being applied,
and the two rules each one follows (a change older than the local row is ignored; a
time from the server is read as UTC).

A module of its own so the appliers by entity (sync/apply.py, sync/apply_orders.py)
and the batch path (sync/apply_bulk.py) use one definition without importing each other.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.dialects import sqlite

from app.store.crypto import PersonalDataCipher
from sync.protocol import Change

_SQLITE = sqlite.dialect()


class ApplyContext:
    """What applying needs besides the session: who we are and the data cipher."""

    def __init__(self, device_id: str, cipher: PersonalDataCipher, pending: set[str]) -> None:
        self.device_id = device_id
        self.cipher = cipher
        self.pending = pending
        self.applied = 0
        self.skipped_pending = 0
        self.skipped = 0


def as_datetime(value: Any) -> datetime | None:
    """A time from a change (ISO text or a datetime); one without a zone is UTC."""
    if value is None or isinstance(value, datetime):
        return value
    return _parse_time(str(value))


@functools.lru_cache(maxsize=4096)
def _parse_time(text: str) -> datetime:
    """A sale's order, lines' movements and payment share one time: parsed once."""
    dt = datetime.fromisoformat(text)
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


_STORE_TIME = DateTime(timezone=True).dialect_impl(_SQLITE).bind_processor(_SQLITE)


def stored_time(value: Any) -> Any:
    """A time from a change as the till's store (SQLite) keeps it, what the ORM would
    write for :func:`as_datetime` of it (now when there is none): for rows written as
    tuples (sync/apply_bulk.py ``Inserts``)."""
    if value is None:
        return _store_time(datetime.now(UTC))
    if isinstance(value, datetime):
        return _store_time(value)
    return _stored_text(str(value))


def _store_time(value: datetime) -> Any:
    return _STORE_TIME(value) if _STORE_TIME is not None else value


@functools.lru_cache(maxsize=4096)
def _stored_text(text: str) -> Any:
    return _store_time(_parse_time(text))


def is_stale(local_version: int | None, change: Change) -> bool:
    """Older than what we hold: replaying a page is harmless (an equal version applies again)."""
    return local_version is not None and local_version > change.version
