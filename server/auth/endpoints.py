"""/auth: sign-in, refresh rotation, logout, revoke-all, me."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from server.auth import service
from server.auth.deps import CtxDep, StaffDep, carries_terminal_token, terminal_if_any
from server.auth.schemas import LoginRequest, RefreshRequest, StaffOut, TokenPair
from sync.protocol import ErrorEnvelope

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/login", response_model=TokenPair, responses={
    401: {"model": ErrorEnvelope, "description": "`invalid_credentials`: unknown staff id "
          "or code, inactive staff member, wrong PIN or password; `invalid_token`: a code "
          "with no org_id, and the terminal token carried is unknown or revoked"},
    403: {"model": ErrorEnvelope, "description": "`above_ceiling`: the request carries a "
          "till's terminal token and the person's role is above that till's role ceiling "
          "(checked before the secret; not counted as a failure); `other_organization`: "
          "the till is another organization's (checked after the secret)"},
    422: {"model": ErrorEnvelope, "description": "`validation_error`: neither or both of "
          "staff_id and code, no secret; `org_required`: a code with no org_id and no "
          "terminal token"},
    423: {"model": ErrorEnvelope, "description": "`account_locked`: too many failed attempts "
          "from this place (or, at a place the person never signed in from, from all "
          "places); `details.retry_after_s` and the Retry-After header say how long"},
})
def login(body: LoginRequest, ctx: CtxDep, request: Request) -> TokenPair:
    """Sign in with a password or a PIN; 5 failures in a row from one place lock that
    place for 5 minutes.

    A place is the enrolled till whose terminal token the request carries, else the
    client address: wrong PINs typed elsewhere never lock the person out at their own
    till. Twenty failures in a row from all places hold the account off (5 minutes,
    doubling up to an hour) at places where the person has never signed in.

    Who: ``staff_id``, or the staff ``code`` people type with ``org_id`` (at a till the
    till's terminal token names the organization instead; neither: 422 `org_required`).
    An unknown id or code and a wrong secret answer the same 401 `invalid_credentials`.

    Each refused attempt and each lockout is audited (`staff.sign_in_failed`,
    `staff.locked_out`: the staff member, the reason, PIN or password, the client
    address; never the secret). A till signing someone in may send its own terminal
    token (`Authorization: Bearer tt_...`): the audit entry then names the terminal and
    its store. With a staff id the token is optional and an unknown one is ignored; a
    code with no org_id needs the till's organization, so an unknown or revoked
    terminal token is then 401 `invalid_token`. A till of another organization than the
    person's: 403 `other_organization` (after the secret)."""
    till = terminal_if_any(request)
    place = service.SignInPlace(till, request.client.host if request.client else None,
                                till is None and carries_terminal_token(request))
    return service.login(ctx, body, place)


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
