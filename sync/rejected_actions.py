"""Resubmitting or dismissing an operation the server refused, from the till.

The server keeps every refused operation in its quarantine; someone the server allows
(``sync.resolve``: a manager for the stores whose tills they work on, an admin or the
owner for every store) resubmits it there (it runs again, vouched for by them) or
dismisses it with a reason (``POST /sync/quarantine/{id}/resubmit``, ``/dismiss``). The
person types their code and PIN at the till; the till signs them in at the server
(sync/staff_api.py), finds the op's entry in one call (``?op_id=&device_id=``) and calls
those. The server decides whether they may: a cashier's attempt is answered 403 in
words, and nothing changes on the till.

Then the till's own outbox row follows, in one local transaction with an audit entry
(actor: the person the server signed in):

- resubmitted and no longer refused: the row is ``pending`` again; the next push gets the
  server's stored answer for it (``duplicate`` of the now applied op, or its conflict)
  and records it as any push does (version, flags, conflict record), so the till ends
  ``done`` after that sync. Nothing is applied twice: the op keeps its op_id and op_seq.
- resubmitted and refused again: the row stays ``rejected`` with the server's new reason.
- dismissed: the row is ``dismissed``; the reason typed at the till is sent to the server
  (which keeps it with who and when, and audits it) and kept in the row's result and the
  till's audit entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.store import audit
from app.store.local import LocalStore
from app.store.models import Device, OutboxOperation
from sync.client import SyncClient
from sync.protocol import OpStatus
from sync.staff_api import StaffApi, StaffSession

RESUBMITTED = "outbox.resubmit"
DISMISSED = "outbox.dismiss"
#: the local status of an op someone dismissed (the server's quarantine says the same)
DISMISSED_STATUS = "dismissed"
MAX_REASON = 500


class ActionRefused(ValueError):
    """The till will not send this (no reason given, the op no longer refused here)."""


@dataclass(frozen=True)
class ServerAnswer:
    """What the server did, and who it signed in to do it."""

    by: StaffSession
    quarantine_id: str
    status: str  # the op's result after a resubmit (applied, duplicate, conflict, rejected); or dismissed
    reason: str | None = None
    result: dict[str, Any] | None = None


def _refused_row(store: LocalStore, op_id: str) -> OutboxOperation:
    with store.db.read() as s:
        row = s.get(OutboxOperation, op_id)
        if row is None or row.status != "rejected":
            raise ActionRefused("This operation is no longer one the server refused on this till")
        s.expunge(row)
        return row


def checked_reason(reason: str) -> str:
    text = " ".join(reason.split())
    if not text:
        raise ActionRefused("Say why this operation is dismissed")
    if len(text) > MAX_REASON:
        raise ActionRefused(f"The reason is too long (at most {MAX_REASON} characters)")
    return text


async def resubmit(store: LocalStore, client: SyncClient, op_id: str, code: str,
                   pin: str) -> ServerAnswer:
    """Sign ``code``/``pin`` in at the server and resubmit this till's refused op there.
    Raises the client's SyncError (AuthError for a wrong PIN or a refusal) in words."""
    _refused_row(store, op_id)
    async with StaffApi(client) as api:
        who = await api.sign_in(pin, code=code)
        entry = await api.quarantined(who, store.device_id, op_id)
        answer = await api.resubmit(who, str(entry["id"]))
    result = dict(answer.get("result") or {})
    return ServerAnswer(who, str(entry["id"]), str(result.get("status", "")),
                        result.get("reason"), result)


async def dismiss(store: LocalStore, client: SyncClient, op_id: str, code: str, pin: str,
                  reason: str) -> ServerAnswer:
    """Sign ``code``/``pin`` in at the server and dismiss this till's refused op there."""
    why = checked_reason(reason)
    _refused_row(store, op_id)
    async with StaffApi(client) as api:
        who = await api.sign_in(pin, code=code)
        entry = await api.quarantined(who, store.device_id, op_id)
        done = await api.dismiss(who, str(entry["id"]), why)
    return ServerAnswer(who, str(entry["id"]), str(done.get("status", DISMISSED_STATUS)),
                        str(done.get("dismiss_reason") or why))


def record_resubmit(store: LocalStore, op_id: str, answer: ServerAnswer) -> str:
    """The till's row after the server's resubmit, with its audit entry; the new status."""
    now = datetime.now(UTC)
    with store.db.write() as s:
        row = s.get(OutboxOperation, op_id)
        if row is None:
            raise ActionRefused("This operation is no longer on this till")
        before = row.status
        if answer.status == OpStatus.REJECTED.value:
            row.last_error = answer.reason or row.last_error
            row.result = answer.result
        else:  # applied (or a conflict): the next push collects the stored answer
            row.status = "pending"
            row.last_error = (f"resubmitted by {answer.by.name}: {answer.status} on the server; "
                              "the next sync records it")
        row.updated_at = now
        audit.append(s, s.get(Device, store.device_id), at=now, actor_id=answer.by.staff_id,
                     action=RESUBMITTED, entity_type="outbox", entity_id=op_id,
                     changes={"status": [before, row.status],
                              "server": {"quarantine_id": answer.quarantine_id,
                                         "result": answer.status, "reason": answer.reason}},
                     reason=None)
        return row.status


def record_dismiss(store: LocalStore, op_id: str, answer: ServerAnswer) -> None:
    """The till's row dismissed with the reason typed, with its audit entry."""
    now = datetime.now(UTC)
    why = checked_reason(answer.reason or "")
    with store.db.write() as s:
        row = s.get(OutboxOperation, op_id)
        if row is None:
            raise ActionRefused("This operation is no longer on this till")
        before = row.status
        row.status = DISMISSED_STATUS
        row.result = dict(row.result or {}) | {"dismissed": {
            "by": answer.by.staff_id, "name": answer.by.name, "reason": why,
            "at": now.isoformat(), "quarantine_id": answer.quarantine_id}}
        row.updated_at = now
        audit.append(s, s.get(Device, store.device_id), at=now, actor_id=answer.by.staff_id,
                     action=DISMISSED, entity_type="outbox", entity_id=op_id,
                     changes={"status": [before, DISMISSED_STATUS],
                              "server": {"quarantine_id": answer.quarantine_id}},
                     reason=why)
