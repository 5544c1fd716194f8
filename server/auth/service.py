"""Staff sign-in: argon2 verification, lockout, access tokens and rotating refresh tokens."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.domain.ids import new_id
from app.domain.pin_rules import PinRuleError, check_pin
from app.domain.role_ceiling import ceiling_refusal, within_ceiling
from server.auth import approval_keys, jwt_keys, lockout
from server.auth import repository as repo
from server.auth.schemas import LoginRequest, StaffOut, TokenPair
from server.auth.sessions import end_sessions
from server.context import AppContext, TerminalPrincipal
from server.db.base import utcnow
from server.db.models import RefreshToken, SignInLock, Staff
from server.errors import ApiError
from server.feed.serialize import staff_state
from server.feed.writer import FeedWriter
from server.security import (
    constant_eq,
    encode_access_token,
    random_token,
    sha256_hex,
    verify_secret,
)
from server.sync import sightings
from server.sync.dispatch import terminal_ceiling


def _invalid() -> ApiError:
    return ApiError(401, "invalid_credentials", "Wrong staff id or code, password or PIN")


def _org_required() -> ApiError:
    return ApiError(422, "org_required", "A staff code is unique within its organization: "
                    "send org_id with the code, or sign in at an enrolled till (its "
                    "terminal token in Authorization)")


def _find_staff(session: Session, body: LoginRequest, place: SignInPlace) -> Staff | None:
    """The staff member the sign-in names: by id, or by code in the organization given
    (``org_id``, else the till's)."""
    if body.staff_id is not None:
        return repo.get_staff(session, body.staff_id, for_update=True)
    assert body.code is not None  # LoginRequest holds one of the two
    org_id = body.org_id or (place.terminal.org_id if place.terminal else None)
    if org_id is None and place.unknown_till:
        raise ApiError(401, "invalid_token", "Unknown or revoked terminal: enroll this till "
                       "again, or send org_id with the code")
    if org_id is None:
        raise _org_required()
    return repo.get_staff_by_code(session, org_id, body.code)


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
        epoch=staff.token_epoch, keys=jwt_keys.ring(ctx),
    )
    return TokenPair(
        access_token=access,
        refresh_token=f"{token.id}.{secret}",
        expires_in=ttl,
        staff=staff_out(staff),
    )


@dataclass(frozen=True)
class SignInPlace:
    """Where a sign-in attempt comes from, for the audit trail of failures.

    ``terminal`` is the enrolled till whose token the request carried, if any; ``client``
    the network address the request came from."""

    terminal: TerminalPrincipal | None = None
    client: str | None = None
    #: the request carried a terminal token that names no enrolled till (unknown, revoked)
    unknown_till: bool = False


def login(ctx: AppContext, body: LoginRequest, place: SignInPlace | None = None) -> TokenPair:
    """Check a password or PIN; 5 failures in a row from one place (an enrolled till, else
    an address) lock that place for 5 minutes (HTTP 423), and many failures from all
    places hold the account off at places the person is not known at
    (server/auth/lockout.py).

    Every refused attempt and every lockout writes an audit entry, committed although the
    request fails, so a manager can see who was locked out and from where."""
    place = place or SignInPlace()
    with ctx.writer.begin() as session:
        staff = _find_staff(session, body, place)
        refusal = _refusal(ctx, session, staff, body, place)
        if refusal is None:
            assert staff is not None  # an unknown staff id is always refused
            client = _client(staff, place)
            lockout.signed_in(lockout.pair(session, staff, client), staff, utcnow(),
                              ctx.settings.lockout_threshold)
            sightings.record_sign_in(session, place.terminal, staff.id, staff.org_id)
            if body.pin and not staff.approval_key:
                _first_approval_key(ctx, session, staff, body.pin)
            return _pin_change(_issue(ctx, session, staff), staff, body)
    raise refusal


def _pin_change(pair: TokenPair, staff: Staff, body: LoginRequest) -> TokenPair:
    """Flag a PIN sign-in whose PIN the role no longer allows (an approver's 4-digit PIN
    set before the 6-digit rule): the person is let in, not locked out of the shop, and
    asked for a new PIN (docs/security.md, PIN length)."""
    if body.password or not body.pin:
        return pair
    try:
        check_pin(staff.role, body.pin)
    except PinRuleError as exc:
        return pair.model_copy(update={"pin_change_required": True,
                                       "pin_change_reason": f"{exc}; choose a new PIN"})
    return pair


def _first_approval_key(ctx: AppContext, session: Session, staff: Staff, pin: str) -> None:
    """A staff member from before approval keys signs in by PIN: make their key now and
    send the new salt to the tills, so their approvals carry a proof from then on."""
    approval_keys.set_key(session, ctx.hasher, staff, pin)
    staff.version += 1
    staff.updated_at = utcnow()
    session.flush()
    FeedWriter.for_org(session, staff.org_id).append("staff", staff.id, staff.version,
                                                     staff_state(staff))


def _client(staff: Staff, place: SignInPlace) -> str:
    till = place.terminal
    return lockout.client_key(staff, till.terminal_id if till else None,
                              till.org_id if till else None, place.client)


def _locked(wait_s: float) -> ApiError:
    wait = max(1, math.ceil(wait_s))
    return ApiError(
        423, "account_locked", "Too many failed attempts; try again later",
        {"retry_after_s": wait}, {"Retry-After": str(wait)},
    )


def _above_ceiling(session: Session, staff: Staff, place: SignInPlace) -> str | None:
    """Why this person may not sign in at the till whose token the request carries (its
    role ceiling), in words; None when they may, or when no till of theirs is named.

    Checked before the secret, like the till's own screen does: a refusal here is no
    wrong guess, and a stolen till cannot use the server to test an owner's PIN."""
    till = place.terminal
    if till is None or till.org_id != staff.org_id:
        return None
    ceiling = terminal_ceiling(session, till)
    if ceiling is None or within_ceiling(staff.role, ceiling):
        return None
    return ceiling_refusal(staff.name, staff.role, ceiling)


def _other_org(session: Session, staff: Staff, place: SignInPlace,
               method: str) -> ApiError | None:
    """A sign-in through a till is for a staff member of the till's organization (its
    role ceiling holds then). Checked after the secret, so a till cannot learn whether a
    code or id exists in another organization (a wrong secret is 401 as anywhere)."""
    till = place.terminal
    if till is None or till.org_id == staff.org_id:
        return None
    _audit_staff(session, staff, place, method, "staff.sign_in_failed",
                 "signed in through a till of another organization")
    return ApiError(403, "other_organization", "This till belongs to another "
                    "organization: sign in here as a staff member of its organization, "
                    "or without the till's token")


def _refusal(
    ctx: AppContext, session: Session, staff: Staff | None, body: LoginRequest,
    place: SignInPlace,
) -> ApiError | None:
    """Why this attempt is refused (None: let them in), with its audit entries written."""
    method = "password" if body.password else "pin"
    if staff is None:
        _audit_unknown_staff(session, place, method)
        return _invalid()
    if not staff.active:
        _audit_staff(session, staff, place, method, "staff.sign_in_failed",
                     "staff member is inactive")
        return _invalid()
    above = _above_ceiling(session, staff, place)
    if above is not None:
        _audit_staff(session, staff, place, method, "staff.sign_in_failed", above)
        return ApiError(403, "above_ceiling", above)
    now = utcnow()
    client = _client(staff, place)
    row = lockout.pair(session, staff, client)
    if row.locked_until and row.locked_until > now:
        _audit_staff(session, staff, place, method, "staff.sign_in_failed", "account locked",
                     {"locked_until": row.locked_until.isoformat()})
        return _locked((row.locked_until - now).total_seconds())
    if (staff.locked_until and staff.locked_until > now
            and not lockout.known_place(row, client)):
        _audit_staff(session, staff, place, method, "staff.sign_in_failed",
                     "account held off at unknown places",
                     {"locked_until": staff.locked_until.isoformat(), "scope": "account"})
        return _locked((staff.locked_until - now).total_seconds())
    secret_hash, secret = ((staff.password_hash, body.password) if body.password
                           else (staff.pin_hash, body.pin or ""))
    if verify_secret(ctx.hasher, secret_hash, secret):
        return _other_org(session, staff, place, method)
    _count_failure(ctx, session, staff, row, place, method, now)
    return _invalid()


def _count_failure(
    ctx: AppContext, session: Session, staff: Staff, row: SignInLock, place: SignInPlace,
    method: str, now: datetime,
) -> None:
    """One more wrong secret at this place and on the account: the threshold-th in a row
    at one place locks that place; many from everywhere hold the account off at unknown
    places (server/auth/lockout.py)."""
    threshold = ctx.settings.lockout_threshold
    before = row.failures
    row.failures += 1
    row.updated_at = now
    staff.failed_attempts += 1
    _audit_staff(session, staff, place, method, "staff.sign_in_failed",
                 "wrong PIN" if method == "pin" else "wrong password",
                 {"failed_attempts": {"before": before, "after": row.failures},
                  "account_failed_attempts": staff.failed_attempts})
    if row.failures >= threshold:
        locked_until = lockout.until(now, ctx.settings.lockout_seconds)
        _audit_staff(session, staff, place, method, "staff.locked_out",
                     f"{row.failures} failed sign-ins in a row",
                     {"locked_until": {"before": None, "after": locked_until.isoformat()},
                      "failed_attempts": {"before": row.failures, "after": 0},
                      "scope": "client"})
        row.locked_until = locked_until
        row.failures = 0
    backoff = lockout.global_backoff_s(staff.failed_attempts, threshold,
                                       ctx.settings.lockout_seconds)
    if backoff is not None:
        held = lockout.until(now, backoff)
        _audit_staff(session, staff, place, method, "staff.locked_out",
                     f"{staff.failed_attempts} failed sign-ins in a row from all places; "
                     f"held off for {backoff} s where the person has not signed in before",
                     {"locked_until": {"before": staff.locked_until.isoformat()
                                       if staff.locked_until else None,
                                       "after": held.isoformat()},
                      "scope": "account"})
        staff.locked_until = held


def _audit_staff(
    session: Session, staff: Staff, place: SignInPlace, method: str, action: str,
    reason: str, changes: dict[str, object] | None = None,
) -> None:
    """A refused sign-in or a lockout of a known staff member: how and from where, never
    the secret. The till is named only if it belongs to the staff member's organization."""
    till = place.terminal if place.terminal and place.terminal.org_id == staff.org_id else None
    repo.add_audit_entry(
        session, org_id=staff.org_id, entity_type="staff", entity_id=staff.id, action=action,
        reason=reason, changes={"method": method, "client": place.client} | (changes or {}),
        store_id=till.store_id if till else None, device_id=till.terminal_id if till else None,
    )


def _audit_unknown_staff(session: Session, place: SignInPlace, method: str) -> None:
    """A sign-in at a till for a staff id nobody has, filed under the till. The typed id
    is not kept (it may be a PIN typed into the wrong box); without a till there is no
    organization to file it under, so nothing is written."""
    till = place.terminal
    if till is None or till.terminal_id is None:
        return
    repo.add_audit_entry(
        session, org_id=till.org_id, entity_type="terminal", entity_id=till.terminal_id,
        action="staff.sign_in_failed", reason="unknown staff id",
        changes={"method": method, "client": place.client},
        store_id=till.store_id, device_id=till.terminal_id,
    )


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
        end_sessions(session, staff)
