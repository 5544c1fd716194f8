"""/conflicts: list and resolve (conflict.resolve permission)."""

from __future__ import annotations

from fastapi import APIRouter

from app.domain.permissions import Action
from server.auth.deps import CtxDep, StaffDep, require
from server.conflicts import service
from server.conflicts.schemas import ConflictOut, ResolveIn
from server.pagination import IdPath, Limit, Offset, StatusFilter, StoreFilter
from sync.protocol import ErrorEnvelope

router = APIRouter(prefix="/conflicts", tags=["conflicts"])


@router.get("", response_model=list[ConflictOut])
def list_conflicts(
    staff: StaffDep,
    ctx: CtxDep,
    status: StatusFilter = "open",
    store_id: StoreFilter = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[ConflictOut]:
    """Newest first: the conflicts of orders of the stores the caller works at (an owner
    or admin: every store) and every product's; a ``store_id`` out of the caller's stores
    is 403 ``store_scope`` (server/tenancy/scope.py)."""
    require(staff, Action.ORDER_VIEW)
    return service.list_conflicts(ctx, staff, status or None, store_id, limit, offset)


@router.post(
    "/{conflict_id}/resolve", response_model=ConflictOut,
    responses={
        403: {"model": ErrorEnvelope, "description": "permission_denied: the caller's role "
              "lacks conflict.resolve"},
        404: {"model": ErrorEnvelope, "description": "not_found: no such conflict in the "
              "caller's organization, or an order's conflict of a store whose tills the "
              "caller does not work on (an owner or admin reaches every store)"},
        409: {"model": ErrorEnvelope, "description": "cannot_resolve: the conflict is already "
              "resolved; `terminal`/`custom` on a kind that allows only `server`; `custom` "
              "naming other fields; the order cannot be edited any more; the product was "
              "deleted since the conflict was raised (only `server` closes it, and the "
              "product stays deleted). Nothing is changed; the conflict stays open"},
        422: {"model": ErrorEnvelope, "description": "invalid_value: a value the rules of a "
              "normal edit refuse (a negative price, an empty name, a tax rate outside "
              "0-100 %, a barcode with a wrong check digit...); the message names the field. "
              "Nothing is changed; the conflict stays open"},
    },
)
def resolve(conflict_id: IdPath, body: ResolveIn, staff: StaffDep, ctx: CtxDep) -> ConflictOut:
    """Keep the server's values (`server`), apply the terminal's (`terminal`) or apply
    custom values (`custom`, fields of the conflict only). The values are applied as a
    normal edit, with its rules; the audit entry's `before` is each field's value at the
    moment of the resolution."""
    require(staff, Action.CONFLICT_RESOLVE)
    return service.resolve(ctx, staff, conflict_id, body)
