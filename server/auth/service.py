"""Staff sign-in: argon2 verification, lockout, access tokens and rotating refresh tokens."""

from __future__ import annotations

import math
from datetime import timedelta

from sqlalchemy.orm import Session

from app.domain.ids import new_id
from server.auth import repository as repo
from server.auth.schemas import LoginRequest, StaffOut, TokenPair
from server.context import AppContext
from server.db.base import utcnow
from server.db.models import RefreshToken, Staff
from server.errors import ApiError
from server.security import (
    constant_eq,
    encode_access_token,
    random_token,
    sha256_hex,
    verify_secret,
)


def _invalid() -> ApiError:
    return ApiError(401, "invalid_credentials", "Wrong staff id, password or PIN")


def staff_out(staff: Staff) -> StaffOut:
    return StaffOut(
        id=staff.id, org_id=staff.org_id, name=staff.name, role=staff.role, active=staff.active,
        code=staff.code,
    )


def _issue(
    ctx: AppContext, session: Session, staff: Staff, family_id: str | None = None
) -> TokenPair:
    now = utcnow()
    secret = random_token()
    token = RefreshToken(
        id=new_id(),
        staff_id=staff.id,
        family_id=family_id or new_id(),
        token_hash=sha256_hex(secret),
        issued_at=now,
        expires_at=now + timedelta(seconds=ctx.settings.refresh_token_ttl_s),
    )
    session.add(token)
    access, ttl = encode_access_token(
        ctx.settings, staff_id=staff.id, org_id=staff.org_id, role=staff.role,
        epoch=staff.token_epoch,
    )
    return TokenPair(
        access_token=access,
        refresh_token=f"{token.id}.{secret}",
        expires_in=ttl,
        staff=staff_out(staff),
    )


def login(ctx: AppContext, body: LoginRequest) -> TokenPair:
    """Check a password or PIN; 5 failures lock the account for 5 minutes (HTTP 423)."""
    settings = ctx.settings
    with ctx.writer.begin() as session:
        staff = repo.get_staff(session, body.staff_id, for_update=True)
        if staff is None or not staff.active:
            raise _invalid()
        now = utcnow()
        if staff.locked_until and staff.locked_until > now:
            wait = math.ceil((staff.locked_until - now).total_seconds())
            raise ApiError(
                423, "account_locked", "Too many failed attempts; try again later",
                {"retry_after_s": wait}, {"Retry-After": str(wait)},
            )
        ok = (
            verify_secret(ctx.hasher, staff.password_hash, body.password)
            if body.password
            else verify_secret(ctx.hasher, staff.pin_hash, body.pin or "")
        )
        if not ok:
            staff.failed_attempts += 1
            if staff.failed_attempts >= settings.lockout_threshold:
                staff.locked_until = now + timedelta(seconds=settings.lockout_seconds)
                staff.failed_attempts = 0
        else:
            staff.failed_attempts = 0
            staff.locked_until = None
            return _issue(ctx, session, staff)
    raise _invalid()


def refresh(ctx: AppContext, raw: str) -> TokenPair:
    """Rotate a refresh token; presenting an already-used one revokes its whole family."""
    token_id, _, secret = raw.partition(".")
    invalid = ApiError(401, "invalid_refresh_token", "The refresh token is not valid")
    reused = False
    with ctx.writer.begin() as session:
        token = repo.get_refresh(session, token_id)
        if token is None or not constant_eq(token.token_hash, sha256_hex(secret)):
            raise invalid
        now = utcnow()
        if token.revoked_at is not None or token.expires_at <= now:
            raise invalid
        if token.used_at is not None:
            repo.revoke_family(session, token.family_id, now)
            reused = True
        else:
            staff = repo.get_staff(session, token.staff_id)
            if staff is None or not staff.active:
                raise invalid
            token.used_at = now
            return _issue(ctx, session, staff, token.family_id)
    if reused:
        raise ApiError(
            401, "refresh_token_reused",
            "This refresh token was already used; all sessions of this sign-in were revoked",
        )
    raise invalid


def logout(ctx: AppContext, raw: str) -> None:
    token_id, _, secret = raw.partition(".")
    with ctx.writer.begin() as session:
        token = repo.get_refresh(session, token_id)
        if token is not None and constant_eq(token.token_hash, sha256_hex(secret)):
            repo.revoke_family(session, token.family_id, utcnow())


def revoke_all(ctx: AppContext, staff_id: str) -> None:
    """Sign a person out everywhere: refresh tokens revoked, access tokens invalidated."""
    with ctx.writer.begin() as session:
        staff = repo.get_staff(session, staff_id, for_update=True)
        if staff is None:
            return
        repo.revoke_all_of_staff(session, staff_id, utcnow())
        staff.token_epoch += 1
