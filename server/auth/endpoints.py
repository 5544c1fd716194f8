"""/auth: sign-in, refresh rotation, logout, revoke-all, me."""

from __future__ import annotations

from fastapi import APIRouter, Response

from server.auth import service
from server.auth.deps import CtxDep, StaffDep
from server.auth.schemas import LoginRequest, RefreshRequest, StaffOut, TokenPair

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/login", response_model=TokenPair)
def login(body: LoginRequest, ctx: CtxDep) -> TokenPair:
    """Sign in with a password or a PIN; 5 failures lock the account for 5 minutes."""
    return service.login(ctx, body)


@router.post("/refresh", response_model=TokenPair)
def refresh(body: RefreshRequest, ctx: CtxDep) -> TokenPair:
    """Swap a refresh token for a new pair; reuse of an old one revokes the family."""
    return service.refresh(ctx, body.refresh_token)


@router.post("/logout", status_code=204)
def logout(body: RefreshRequest, ctx: CtxDep) -> Response:
    service.logout(ctx, body.refresh_token)
    return Response(status_code=204)


@router.post("/revoke-all", status_code=204)
def revoke_all(staff: StaffDep, ctx: CtxDep) -> Response:
    """Sign the current person out on every device."""
    service.revoke_all(ctx, staff.staff_id)
    return Response(status_code=204)


@router.get("/me", response_model=StaffOut)
def me(staff: StaffDep) -> StaffOut:
    return StaffOut(
        id=staff.staff_id, org_id=staff.org_id, name=staff.name, role=staff.role, active=True
    )
