"""Quarantined (rejected) operations: list, fix and resubmit, or dismiss."""

from __future__ import annotations

from pydantic import ValidationError

from server.context import AppContext, StaffPrincipal, TerminalPrincipal
from server.db.base import utcnow
from server.db.models import ProcessedOp, QuarantinedOp, Terminal
from server.errors import ApiError, not_found
from server.feed.writer import FeedWriter
from server.sync import repository as repo
from server.sync.dispatch import result_of, run_handler
from server.sync.schemas import QuarantineOut, ResubmitIn, ResubmitOut
from sync.protocol import Operation, OpStatus, describe_errors


def out(q: QuarantinedOp) -> QuarantineOut:
    return QuarantineOut(
        id=q.id, device_id=q.device_id, store_id=q.store_id, op_id=q.op_id, op_type=q.op_type,
        operation=q.operation, reason=q.reason, status=q.status, result=q.result,
        created_at=q.created_at, resolved_at=q.resolved_at, resolved_by=q.resolved_by,
    )


def list_quarantine(
    ctx: AppContext, staff: StaffPrincipal, status: str | None, limit: int, offset: int
) -> list[QuarantineOut]:
    with ctx.reader() as session:
        return [out(q) for q in repo.quarantine_of(session, staff.org_id, status, limit, offset)]


def resubmit(ctx: AppContext, staff: StaffPrincipal, qid: str, body: ResubmitIn) -> ResubmitOut:
    """Apply a quarantined op again (possibly fixed); its stored result is replaced."""
    with ctx.writer.begin() as session:
        q = session.get(QuarantinedOp, qid, with_for_update=True)
        if q is None or q.org_id != staff.org_id:
            raise not_found("Quarantined operation")
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
        session.flush()  # every row lock before the feed's
        feed.assign()
        return ResubmitOut(quarantine=out(q), result=result)


def dismiss(ctx: AppContext, staff: StaffPrincipal, qid: str) -> QuarantineOut:
    with ctx.writer.begin() as session:
        q = session.get(QuarantinedOp, qid, with_for_update=True)
        if q is None or q.org_id != staff.org_id:
            raise not_found("Quarantined operation")
        q.status, q.resolved_at, q.resolved_by = "dismissed", utcnow(), staff.staff_id
        return out(q)
