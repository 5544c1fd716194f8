"""Quarantined (rejected) operations: list, fix and resubmit, or dismiss.

Who may: ``sync.admin`` (an admin, the owner) every store of the organization;
``sync.resolve`` (a manager) the stores whose tills they work on (the shared store
scope, server/tenancy/scope.py: ops pushed or a sign-in there), and only for ops whose
actor and named approver hold no role above their own, as they vouch for them. An entry
outside a person's stores is not found (404), as another organization's is; a
``store_id`` filter naming a store of the organization out of scope is 403
``store_scope``. Resubmit and dismiss each write an
audit entry (so a journal entry): ``quarantine.resubmit``, ``quarantine.dismiss`` with
the reason given.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.domain.permissions import Action, allowed
from app.domain.role_ceiling import within_ceiling
from server.context import AppContext, StaffPrincipal, TerminalPrincipal
from server.db.base import utcnow
from server.db.models import AuditEntry, ProcessedOp, QuarantinedOp, Staff, Terminal
from server.errors import ApiError, not_found
from server.feed.writer import FeedWriter
from server.sync import repository as repo
from server.sync.dispatch import result_of, run_handler, unstorable_text
from server.sync.schemas import QuarantineOut, ResubmitIn, ResubmitOut
from server.tenancy import scope as store_scope
from sync.protocol import Operation, OpStatus, describe_errors

RESUBMITTED = "quarantine.resubmit"
DISMISSED = "quarantine.dismiss"
#: what a store out of scope may not be asked for (403 store_scope)
QUARANTINE = "see to the refused operations"


def out(q: QuarantinedOp) -> QuarantineOut:
    return QuarantineOut(
        id=q.id, device_id=q.device_id, store_id=q.store_id, op_id=q.op_id, op_type=q.op_type,
        operation=q.operation, reason=q.reason, status=q.status, result=q.result,
        created_at=q.created_at, resolved_at=q.resolved_at, resolved_by=q.resolved_by,
        dismiss_reason=q.dismiss_reason,
    )


def list_quarantine(
    ctx: AppContext, staff: StaffPrincipal, status: str | None, limit: int, offset: int, *,
    store_id: str | None = None, op_id: str | None = None, device_id: str | None = None,
) -> list[QuarantineOut]:
    with ctx.reader() as session:
        if store_id is not None:
            store_scope.check_named_store(session, staff, store_id, QUARANTINE)
            mine: set[str] | None = {store_id}
        else:
            mine = store_scope.stores_in_scope(session, staff)
        return [out(q) for q in repo.quarantine_of(
            session, staff.org_id, status, limit, offset, store_ids=mine, op_id=op_id,
            device_id=device_id)]


def _entry(session: Session, staff: StaffPrincipal, qid: str) -> QuarantinedOp:
    """The entry ``qid``, row-locked, if ``staff`` may see to it; else 404."""
    q = session.get(QuarantinedOp, qid, with_for_update=True)
    if q is None or q.org_id != staff.org_id:
        raise not_found("Quarantined operation")
    store_scope.check_record_store(session, staff, q.store_id, "Quarantined operation")
    return q


def _vouchable(session: Session, staff: StaffPrincipal, op: Operation) -> None:
    """Without ``sync.admin``, the op's actor and its named approver may hold no role
    above the resubmitter's: a manager vouches for a cashier's op, not for an owner's."""
    if allowed(staff.role, Action.SYNC_ADMIN):
        return
    payload: Any = op.payload
    named = [op.actor_id]
    if isinstance(payload, dict) and isinstance(payload.get("approved_by"), str):
        named.append(payload["approved_by"])
    for staff_id in named:
        person = session.get(Staff, staff_id)
        if person is not None and person.org_id == staff.org_id and \
                not within_ceiling(person.role, staff.role):
            raise ApiError(
                403, "permission_denied",
                f"A {staff.role} may not vouch for {person.name}, whose role is "
                f"{person.role}: resubmitting it needs {Action.SYNC_ADMIN.value}",
                {"role": staff.role, "action": Action.SYNC_ADMIN.value})


def _audit(q: QuarantinedOp, staff: StaffPrincipal, action: str, before: str,
           changes: dict[str, Any], reason: str | None = None) -> AuditEntry:
    return AuditEntry(
        org_id=q.org_id, store_id=q.store_id, entity_type="quarantine", entity_id=q.id,
        action=action, actor_id=staff.staff_id, op_id=q.op_id,
        changes={"status": [before, q.status], "op_type": q.op_type,
                 "device_id": q.device_id} | changes,
        reason=reason)


def resubmit(ctx: AppContext, staff: StaffPrincipal, qid: str, body: ResubmitIn) -> ResubmitOut:
    """Apply a quarantined op again (possibly fixed); its stored result is replaced."""
    with ctx.writer.begin() as session:
        q = _entry(session, staff, qid)
        if q.status != "open":
            raise ApiError(409, "not_open", f"This operation is already {q.status}")
        data = dict(q.operation)
        if body.payload is not None:
            data["payload"] = body.payload
        if body.actor_id is not None:
            data["actor_id"] = body.actor_id
        try:
            op = Operation.model_validate(data)
        except ValidationError as exc:
            raise ApiError(422, "invalid_value",
                           f"The operation is still not valid: {describe_errors(exc)}; "
                           "dismiss it if it cannot be fixed") from exc
        if (why := unstorable_text(op)) is not None:  # as a push refuses it (intake.py)
            raise ApiError(422, "invalid_value", f"The operation is still not valid: {why}; "
                           "dismiss it if it cannot be fixed")
        _vouchable(session, staff, op)
        term = session.get(Terminal, q.device_id)
        if term is None:
            raise not_found("Terminal")
        principal = TerminalPrincipal(term.id, term.org_id, term.store_id, term.device_code)
        # deferred feed: its store locks are taken last, as a push takes them, so a
        # resubmit and a push of the same record cannot wait for each other in a cycle
        feed = FeedWriter.deferred(session, term.org_id, term.store_id)
        result = result_of(op, run_handler(ctx, session, op, principal, feed, vouched=True))
        row = session.get(ProcessedOp, q.op_id)
        # (a rejection without a stored result of its own, an op_id another device
        # used, say, never changes that other op's stored result)
        if row is not None and row.device_id == q.device_id:
            row.result = result.model_dump(mode="json")
            row.status = result.status.value
        q.result = result.model_dump(mode="json")
        if result.status is not OpStatus.REJECTED:
            q.status, q.resolved_at, q.resolved_by = "resubmitted", utcnow(), staff.staff_id
        else:
            q.reason = result.reason or q.reason
        session.add(_audit(q, staff, RESUBMITTED, "open", {
            "result": result.status.value, "refused": result.reason, "fixed": sorted(
                k for k in ("payload", "actor_id") if getattr(body, k) is not None)}))
        session.flush()  # every row lock before the feed's
        feed.assign()
        return ResubmitOut(quarantine=out(q), result=result)


def dismiss(ctx: AppContext, staff: StaffPrincipal, qid: str, reason: str) -> QuarantineOut:
    """Close an open entry without applying it: who, when and why are kept, and audited."""
    with ctx.writer.begin() as session:
        q = _entry(session, staff, qid)
        if q.status != "open":
            raise ApiError(409, "not_open", f"This operation is already {q.status}")
        q.status, q.resolved_at, q.resolved_by = "dismissed", utcnow(), staff.staff_id
        q.dismiss_reason = reason
        session.add(_audit(q, staff, DISMISSED, "open", {}, reason=reason))
        return out(q)
