"""The hash-chained audit log: writing entries and verifying a device's chain."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.chain import GENESIS, Head, Link, first_break
from app.domain.ids import new_id
from app.store.models import AuditEntry, Device
from app.store.outbox_crypto import SEALED, open_payload
from app.store.rows import insert_rows

__all__ = ["GENESIS", "ChainProblem", "append", "chain_head", "diff", "entry_row", "verify_chain"]


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def entry_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + _canonical(fields)).encode()).hexdigest()


def _hashed_fields(entry: AuditEntry) -> dict[str, Any]:
    at = entry.at
    return {
        "id": entry.id,
        "device_id": entry.device_id,
        "seq": entry.seq,
        "at": at.replace(tzinfo=None).isoformat() if isinstance(at, datetime) else at,
        "actor_id": entry.actor_id,
        "action": entry.action,
        "entity_type": entry.entity_type,
        "entity_id": entry.entity_id,
        "changes": entry.changes,
        "reason": entry.reason,
    }


def append(
    session: Session,
    device: Any,
    *,
    at: datetime,
    actor_id: str,
    action: str,
    entity_type: str,
    entity_id: str,
    changes: dict[str, Any],
    reason: str | None,
) -> AuditEntry:
    """Append one entry to the device's chain (the caller's transaction holds the write lock).

    ``device`` is the ``Device`` row or the mutation's ``DeviceCounters``; its
    ``audit_seq``/``audit_head`` advance here and are written with the device row.
    The entry is inserted at once (no ORM flush); the returned ``AuditEntry`` is a
    transient copy of it, not attached to the session.
    """
    row = entry_row(device, at=at, actor_id=actor_id, action=action, entity_type=entity_type,
                    entity_id=entity_id, changes=changes, reason=reason)
    insert_rows(session, AuditEntry, (row,))
    return AuditEntry(**row)


def entry_row(
    device: Any,
    *,
    at: datetime,
    actor_id: str,
    action: str,
    entity_type: str,
    entity_id: str,
    changes: dict[str, Any],
    reason: str | None,
) -> dict[str, Any]:
    """The next entry of the device's chain as a row (advancing the device's
    ``audit_seq`` and ``audit_head``); the caller inserts it in the same transaction."""
    stored_changes = json.loads(_canonical(changes))  # what the JSON column will hold
    changes_json = _canonical(stored_changes)
    seq = device.audit_seq + 1
    prev_hash = device.audit_head
    entry_id = new_id()
    # The same fields, in the same canonical JSON, as _hashed_fields() of the stored
    # entry (so verify_chain recomputes this hash from what it reads back).
    hashed = (
        '{"action":' + _canonical(action) + ',"actor_id":' + _canonical(actor_id)
        + ',"at":' + _canonical(at.replace(tzinfo=None).isoformat()) + ',"changes":' + changes_json
        + ',"device_id":' + _canonical(device.id) + ',"entity_id":' + _canonical(entity_id)
        + ',"entity_type":' + _canonical(entity_type) + ',"id":' + _canonical(entry_id)
        + ',"reason":' + _canonical(reason) + ',"seq":' + str(seq) + "}"
    )
    digest = hashlib.sha256((prev_hash + hashed).encode()).hexdigest()
    row = {
        "id": entry_id, "device_id": device.id, "seq": seq, "at": at, "actor_id": actor_id,
        "action": action, "entity_type": entity_type, "entity_id": entity_id,
        "changes": stored_changes, "reason": reason, "prev_hash": prev_hash, "hash": digest,
    }
    device.audit_seq = seq
    device.audit_head = digest
    return row


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    problem: str  # "<edited|removed|inserted|reordered>: <what the reader saw>"

    def __str__(self) -> str:
        return f"entry {self.seq}: {self.problem}"


def _matches_opened(entry: AuditEntry, cipher: Any) -> bool:
    """Whether the entry hashes right once its sealed customer fields are opened: an entry
    written in clear and sealed on upgrade (app/store/upgrades.py) keeps its first hash."""
    if cipher is None or not isinstance(entry.changes, dict) or SEALED not in json.dumps(entry.changes):
        return False
    try:
        opened = open_payload(cipher, entry.changes)
    except Exception:  # noqa: BLE001 - a seal that does not open is altered content
        return False
    return entry_hash(entry.prev_hash, _hashed_fields(entry) | {"changes": opened}) == entry.hash


def _link(entry: AuditEntry, cipher: Any) -> Link:
    intact = entry_hash(entry.prev_hash, _hashed_fields(entry)) == entry.hash \
        or _matches_opened(entry, cipher)
    return Link(entry.seq, entry.prev_hash, entry.hash, intact)


def verify_chain(session: Session, device_id: str | None = None) -> list[ChainProblem]:
    """The first place where this till's audit chain does not hold (empty: it holds).

    The chain is the store file's, not one device id's: it starts at the first entry
    the file ever wrote (seq 1, after GENESIS) and runs on through enrollment (which
    gives the till a new device id, docs/journal.md), upgrades and restores; each
    entry's device_id says which identity wrote it. ``device_id`` is kept for callers
    from before; the chain read is the same whatever it is."""
    cipher = session.info.get("cipher")  # the store's sessions carry it (Database.set_cipher)
    entries = session.scalars(select(AuditEntry).order_by(AuditEntry.seq, AuditEntry.id))
    links = [_link(entry, cipher) for entry in entries]
    device = session.scalars(select(Device).limit(1)).first()
    head = Head(device.audit_seq, device.audit_head) if device is not None else None
    found = first_break(links, head)
    return [] if found is None else [ChainProblem(found.position, f"{found.kind}: {found.detail}")]


def chain_head(session: Session) -> tuple[int, str]:
    """(seq, hash) of the till's last audit entry, as its device row records it."""
    device = session.scalars(select(Device).limit(1)).first()
    return (device.audit_seq, device.audit_head) if device is not None else (0, GENESIS)


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Field-level before/after of what changed, as stored in an audit entry."""
    keys = set(before) | set(after)
    return {
        k: {"before": before.get(k), "after": after.get(k)}
        for k in sorted(keys)
        if before.get(k) != after.get(k)
    }
