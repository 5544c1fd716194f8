"""One operation through its handler: the format check, the actor re-check, a savepoint.

Every op type that is not written in bulk (and every op when the bulk path is off)
goes through :func:`run_handler`; a Rejected is rolled back to the savepoint and
becomes the op's stored result, so it never holds the device's queue.

The catalogue (app/domain/operations.py) says, per type, what is checked here once
before the handler: the actor's permission (``spec.permission``), then the payload,
parsed with the spec's model (the handler reads it with ``oc.payload_as``), and whose
feed the result goes to (``spec.scope``). Handlers keep their finer checks (discounts,
the approver's right, a stock movement's kind) and their own base check, for the back
office, which calls them without this dispatch (the same words either way).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import orjson
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.domain.operations import CATALOGUE, OpSpec, Scope
from app.domain.role_ceiling import ceiling_refusal, within_ceiling
from server.context import AppContext, TerminalPrincipal
from server.crypto import StaleDataKey
from server.db.models import Staff, Terminal
from server.feed.writer import FeedWriter
from server.sync import (
    approvals,
    cash_movements,
    catalog,
    order_edits,
    orders,
    proofs,
    shifts,
    sightings,
    stock_reviews,
)
from server.sync.common import OpContext, Outcome, Rejected, parse_payload
from sync.protocol import (
    OPERATION_FORMAT_VERSION,
    Operation,
    OperationResult,
    OpStatus,
    OpType,
)

log = logging.getLogger("tillsync.server.sync")
Handler = Callable[[OpContext], Outcome]

HANDLERS: dict[OpType, Handler] = {
    OpType.ORDER_CREATE: orders.order_create,
    OpType.PAYMENT_RECORD: orders.payment_record,
    OpType.REFUND_CREATE: orders.refund_create,
    OpType.ORDER_UPDATE: order_edits.order_update,
    OpType.ORDER_DELETE: order_edits.order_delete,
    OpType.STOCK_ADJUST: catalog.stock_adjust,
    OpType.PRODUCT_CREATE: catalog.product_create,
    OpType.PRODUCT_UPDATE: catalog.product_update,
    OpType.APPROVAL_REQUEST: approvals.approval_request,
    OpType.APPROVAL_DECIDE: approvals.approval_decide,
    OpType.CUSTOMER_UPSERT: approvals.customer_upsert,
    OpType.SHIFT_OPEN: shifts.shift_open,
    OpType.SHIFT_CLOSE: shifts.shift_close,
    OpType.CASH_MOVE: cash_movements.cash_move,
    OpType.STOCK_ACCEPT: stock_reviews.stock_accept,
}
ORG_WIDE = frozenset(t for t, spec in CATALOGUE.items() if spec.scope is Scope.ORG)
#: checks of the payload as sent, before it is parsed: the product rules see a price
#: "350" as sent, not as the number the model would make of it (catalog.product_create
#: runs them too, for the back office)
BEFORE_PARSE: dict[OpType, Callable[[dict[str, Any]], None]] = {
    OpType.PRODUCT_CREATE: catalog.check_raw_values,
}


def upgrade(op: Operation) -> Operation:
    """Bring an operation of an older format_version to the current one."""
    if op.format_version > OPERATION_FORMAT_VERSION:
        raise Rejected(
            f"format_version {op.format_version} is newer than this server understands "
            f"({OPERATION_FORMAT_VERSION}); upgrade the server"
        )
    return op  # version 1 is the first format: nothing to upgrade yet


#: a UTF-16 surrogate standing alone: json.loads takes "\\ud800" from a body, but no
#: UTF-8 text holds one (PostgreSQL refuses it; an answer carrying it cannot be encoded)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
NUL_REASON = "the operation contains a NUL character"
SURROGATE_REASON = ("the operation contains text that is not Unicode (a lone UTF-16 "
                    "surrogate such as \\ud800)")


def unstorable_value(value: object) -> str | None:
    """Why a JSON value (keys included) holds text no database column or answer can
    carry: a NUL character or a lone surrogate; None when it holds neither."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return NUL_REASON
            if _LONE_SURROGATE.search(item):
                return SURROGATE_REASON
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def unstorable_text(op: Operation) -> str | None:
    """Why the op cannot be stored as sent (a NUL character: PostgreSQL text cannot hold
    one; a lone surrogate: no UTF-8 text can), or None."""
    values = [op.op_id, op.entity_id, op.actor_id, op.device_id, op.payload]
    try:  # one C-speed encoding rules most ops out: orjson writes NUL as \u0000 and
        # refuses a lone surrogate (TypeError)
        if b"\\u0000" not in orjson.dumps(values, option=orjson.OPT_NON_STR_KEYS):
            return None
    except TypeError:
        pass
    return unstorable_value(values)  # (a text "\\u0000" is no NUL: the walk decides)


def scrub(value: object) -> object:
    """A copy with NUL characters and lone surrogates replaced by U+FFFD (so a bad op
    can still be quarantined, and listed)."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value.replace("\x00", "\ufffd"))
    if isinstance(value, dict):
        return {scrub(k): scrub(v) for k, v in value.items()}  # type: ignore[misc]
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


def _handler(op_type: OpType) -> Handler | None:
    if op_type is OpType.CONFLICT_RESOLVE:
        from server.conflicts.service import conflict_resolve_op

        return conflict_resolve_op
    return HANDLERS.get(op_type)


def result_of(op: Operation, outcome: Outcome) -> OperationResult:
    return OperationResult(
        op_id=op.op_id, op_seq=op.op_seq, status=outcome.status, entity_id=op.entity_id,
        version=outcome.version, reason=outcome.reason, conflict_id=outcome.conflict_id,
        flags=outcome.flags,
    )


def stored_result(data: dict[str, object]) -> OperationResult:
    """The result stored for an op; an applied op answers ``duplicate`` the second time."""
    result = OperationResult.model_validate(data)
    if result.status is OpStatus.APPLIED:
        result.status = OpStatus.DUPLICATE
    return result


def run_handler(
    ctx: AppContext, session: Session, op: Operation, terminal: TerminalPrincipal,
    feed: FeedWriter | None = None, *, vouched: bool = False,
) -> Outcome:
    """Re-check the actor and apply one op in a savepoint; a Rejected is rolled back.

    ``vouched``: an admin resubmits the op from the quarantine with their own sign-in,
    so no approver proof is asked (server/sync/proofs.py; the quarantine keeps who).

    ``feed`` is the push's deferred writer (its entries get positions at the end of the
    transaction); without one, the store rows are locked now (eager writer)."""
    mark = feed.mark() if feed is not None else 0
    savepoint = session.begin_nested()
    try:
        op = upgrade(op)
        handler = _handler(op.type)
        spec = CATALOGUE.get(op.type)
        if handler is None or spec is None:
            raise Rejected(f"{op.type.value} is not supported by this server yet")
        actor = session.get(Staff, op.actor_id)
        if actor is None or actor.org_id != terminal.org_id:
            raise Rejected(f"actor {op.actor_id} is not a staff member of this organization")
        if not actor.active:
            raise Rejected(f"{actor.name} is no longer an active staff member")
        check_ceiling(session, terminal, actor.name, actor.role)
        check_approver(session, terminal, op.payload)
        proof = (proofs.Proof.NOT_NEEDED if vouched else
                 proofs.check(session, terminal, op, ctx.settings.approval_proof_policy))
        org_wide = spec.scope is Scope.ORG
        if feed is None:
            writer = (FeedWriter.for_org(session, terminal.org_id) if org_wide
                      else FeedWriter.for_store(session, terminal.store_id))
        else:
            writer = feed.org_wide() if org_wide else feed
        oc = OpContext(session, op, terminal, actor, writer, ctx.settings.webhook_urls)
        oc.parsed = checked_payload(oc, spec)
        outcome = handler(oc)
        if outcome.status is OpStatus.APPLIED:
            sightings.after_apply(oc, outcome, proof)
        savepoint.commit()
        return outcome
    except Rejected as exc:
        savepoint.rollback()
        if feed is not None:
            feed.truncate(mark)
        return Outcome(OpStatus.REJECTED, reason=exc.reason)
    except (OperationalError, StaleDataKey):  # transient: nothing written, resent
        raise
    except Exception:  # a bug must not hold the queue: quarantine it, in words
        savepoint.rollback()
        if feed is not None:
            feed.truncate(mark)
        log.exception("op %s (%s) failed", op.op_id, op.type)
        return Outcome(OpStatus.REJECTED, reason=internal_error_reason(op.op_id))


def checked_payload(oc: OpContext, spec: OpSpec) -> BaseModel:
    """The actor's permission for this op (the catalogue's, by its payload), then its
    payload parsed with the spec's model: a person without the right is refused for it
    before anything is said of their payload."""
    payload = oc.op.payload
    oc.require_any(spec.permission.actions_for(payload))
    before = BEFORE_PARSE.get(spec.type)
    if before is not None:
        before(payload if isinstance(payload, dict) else {})
    return parse_payload(spec.payload, payload)


_CEILINGS = "tillsync_terminal_ceilings"


def terminal_ceiling(session: Session, terminal: TerminalPrincipal) -> str | None:
    """The role ceiling of the pushing terminal (None for a REST change made by staff
    with their own credentials); read once per transaction."""
    if terminal.terminal_id is None:
        return None
    known: dict[str, str | None] = session.info.setdefault(_CEILINGS, {})
    if terminal.terminal_id not in known:
        known[terminal.terminal_id] = session.scalar(
            select(Terminal.max_role).where(Terminal.id == terminal.terminal_id))
    return known[terminal.terminal_id]


def check_ceiling(session: Session, terminal: TerminalPrincipal, name: str, role: str) -> None:
    """Reject an op whose actor (or approver) holds a role above the terminal's ceiling:
    a till's token is not every staff member of its organization (docs/security.md)."""
    ceiling = terminal_ceiling(session, terminal)
    if ceiling is not None and not within_ceiling(role, ceiling):
        raise Rejected(ceiling_refusal(name, role, ceiling))


def check_approver(session: Session, terminal: TerminalPrincipal,
                   payload: dict[str, object]) -> None:
    """The staff member a payload names as ``approved_by`` is held to the ceiling too (an
    unknown or foreign id is left to the handler, which checks what it needs)."""
    approver_id = payload.get("approved_by")
    if not isinstance(approver_id, str) or terminal.terminal_id is None:
        return
    approver = session.get(Staff, approver_id)
    if approver is not None and approver.org_id == terminal.org_id:
        check_ceiling(session, terminal, approver.name, approver.role)


def internal_error_reason(op_id: str) -> str:
    """The reason of an op the server failed to apply (the error itself is logged)."""
    return (f"the server could not apply this operation (an internal error, logged with "
            f"op_id {op_id}); an admin can resubmit it from the quarantine")
