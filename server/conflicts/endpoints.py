"""/conflicts: list and resolve (conflict.resolve permission)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.domain.permissions import Action
from server.auth.deps import CtxDep, StaffDep, require
from server.conflicts import service
from server.conflicts.schemas import ConflictOut, ResolveIn

router = APIRouter(prefix="/conflicts", tags=["conflicts"])


@router.get("", response_model=list[ConflictOut])
def list_conflicts(
    staff: StaffDep,
    ctx: CtxDep,
    status: Annotated[str | None, Query(max_length=20)] = "open",
    store_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[ConflictOut]:
    require(staff, Action.ORDER_VIEW)
    return service.list_conflicts(ctx, staff.org_id, status or None, store_id, limit, offset)


@router.post("/{conflict_id}/resolve", response_model=ConflictOut)
def resolve(conflict_id: str, body: ResolveIn, staff: StaffDep, ctx: CtxDep) -> ConflictOut:
    """Keep the server's values, apply the terminal's, or apply custom values."""
    require(staff, Action.CONFLICT_RESOLVE)
    return service.resolve(ctx, staff, conflict_id, body)
