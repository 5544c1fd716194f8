"""/approvals: the approvals queue (deletions and refunds asked for by cashiers).

Of the stores the caller may see to (server/tenancy/scope.py): a request of another
store is neither listed nor found (404); a ``store_id`` filter naming a store out of
scope is 403 ``store_scope``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from app.domain.permissions import Action
from server.auth.deps import CtxDep, StaffDep, require
from server.backoffice import ops, scoped
from server.backoffice.schemas import ApprovalOut, DecideIn, DecideOut
from server.db.models import Approval, Order
from server.errors import ApiError, not_found
from server.feed.serialize import approval_state, order_state
from server.pagination import Offset
from server.sync import approvals
from server.tenancy import scope as store_scope
from sync.protocol import OpType

router = APIRouter(prefix="/approvals", tags=["back office"])


def _out(a: Approval) -> ApprovalOut:
    return ApprovalOut.model_validate(approval_state(a) | {"requested_at": a.requested_at,
                                                            "decided_at": a.decided_at})


@router.get("", response_model=list[ApprovalOut])
def list_approvals(
    staff: StaffDep,
    ctx: CtxDep,
    status: Annotated[str | None, Query(max_length=20)] = "pending",
    store_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Offset = 0,
) -> list[ApprovalOut]:
    """Requests of the stores in the caller's scope, oldest first (approval.decide)."""
    require(staff, Action.APPROVAL_DECIDE)
    stmt = select(Approval).where(Approval.org_id == staff.org_id)
    if status:
        stmt = stmt.where(Approval.status == status)
    stmt = stmt.order_by(Approval.requested_at, Approval.id).limit(limit).offset(offset)
    with ctx.reader() as session:
        stores = store_scope.stores_read(session, staff, store_id, scoped.APPROVALS)
        if stores is not None:
            stmt = stmt.where(Approval.store_id.in_(stores))
        return [_out(a) for a in session.scalars(stmt)]


@router.post("/{approval_id}/decide", response_model=DecideOut)
def decide(approval_id: str, body: DecideIn, staff: StaffDep, ctx: CtxDep) -> DecideOut:
    """Approve (the order is deleted or refunded now) or reject; publishes approval.decided."""
    require(staff, Action.APPROVAL_DECIDE)
    with ctx.reader() as session:
        probe = session.get(Approval, approval_id)
        if probe is None or probe.org_id != staff.org_id:
            raise not_found("Approval")
        store_scope.check_record_store(session, staff, probe.store_id, "Approval")
        store_id = probe.store_id
        kind = probe.kind
    if body.approved:
        require(staff, Action.ORDER_DELETE if kind == "delete" else Action.REFUND_APPROVE)

    def run(oc):  # type: ignore[no-untyped-def]
        approval = oc.session.get(Approval, approval_id, with_for_update=True,
                                  populate_existing=True)
        if approval.status != "pending":
            raise ApiError(409, "already_decided", f"This request was already {approval.status}")
        if body.approved:
            return approvals.carry_out(oc, approval, body.note, None)
        return approvals.reject_in(oc, approval, body.note, None)

    outcome, _ = ops.run(ctx, staff, store_id, OpType.APPROVAL_DECIDE, approval_id,
                         {"approval_id": approval_id, "approved": body.approved,
                          "note": body.note}, run)
    if (err := ops.conflict_error(outcome)) is not None:
        raise err
    with ctx.reader() as session:
        approval = session.get(Approval, approval_id)
        assert approval is not None
        order = session.get(Order, approval.order_id)
        return DecideOut(approval=_out(approval),
                         order=order_state(session, order) if order else None,
                         flags=outcome.flags)
