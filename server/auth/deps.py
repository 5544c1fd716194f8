"""FastAPI dependencies: the signed-in staff member and the enrolled terminal."""

from __future__ import annotations

import time
from typing import Annotated, Any

import anyio
from fastapi import Depends, Request
from sqlalchemy import bindparam, select

from app.domain.permissions import Action, allowed
from server.auth import jwt_keys
from server.context import AppContext, StaffPrincipal, TerminalPrincipal, get_ctx
from server.db.engine import lone_statement
from server.db.models import Staff, Terminal
from server.db.raw_query import fetch_pg
from server.deps_tokens import TERMINAL_TOKEN_PREFIX
from server.errors import ApiError
from server.security import sha256_hex, verify_access_token


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError(
            401, "unauthorized", "Sign in first (Authorization: Bearer ...)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return token.strip()


_s = Staff.__table__.c
_STAFF_BY_ID = select(_s.id, _s.org_id, _s.role, _s.name, _s.active, _s.token_epoch).where(
    _s.id == bindparam("staff_id"))
#: _STAFF_BY_ID as written for PostgreSQL (server/db/raw_query.py): SQLAlchemy's
#: execution of it cost ~50-80 µs of CPU more a request than the driver's cursor
_STAFF_BY_ID_PG = ("SELECT id, org_id, role, name, active, token_epoch FROM staff "
                   "WHERE id = $1")

#: ``request.state`` key (the ASGI scope's ``state``) under which the first look at a
#: request's staff access token leaves it with its claims (None: invalid or expired):
#: the rate limiter, the route's ``current_staff`` and the access line's ids
#: (server/logging_setup.py) share one decode a request, whichever comes first
CLAIMS_STATE = "access_claims"


def token_claims(ctx: AppContext, state: dict[str, Any], token: str) -> dict[str, Any] | None:
    """The claims of a staff access token (None: invalid or expired), looked up once per
    request (:func:`verified_claims`): kept in the request's ``state`` for the next
    look at the same token."""
    seen = state.get(CLAIMS_STATE)
    if seen is not None and seen[0] == token:
        return seen[1]  # type: ignore[no-any-return]
    claims = verified_claims(ctx, token)
    state[CLAIMS_STATE] = (token, claims)
    return claims


#: access tokens this process verified, at most (then forgotten all at once): a token
#: is used on every request of a sign-in (a till's, a back-office session's)
VERIFIED_TOKENS = 10_000


def verified_claims(ctx: AppContext, token: str) -> dict[str, Any] | None:
    """:func:`server.security.decode_access_token`, the signature checked once per token
    and process: a token that verified is remembered with its kid and the secret that
    verified it, and on its next use is taken again only while it is unexpired (its
    ``exp``, against the clock now, as PyJWT checks it) and the key ring still gives
    that very secret for that kid (a key retired since, or replaced: decoded again, and
    refused). Any other token (forged, expired, another type) is decoded as before,
    and never remembered. (The check cost ~0.15 ms of CPU a request: PyJWT tests the
    base64 alphabet a character at a time.) Revocation is not the token's: current_staff
    reads the person's token epoch and state on every request. The claims are shared
    by the requests of the token: read them, never change them."""
    keys = jwt_keys.ring(ctx)
    cache = verified_tokens(ctx)
    known = cache.get(token)
    if known is not None:
        known_kid, known_secret, known_claims = known
        if known_claims["exp"] > time.time() and keys.secret_for(known_kid) == known_secret:
            return known_claims
        cache.pop(token, None)
    claims, kid, secret = verify_access_token(ctx.settings, token, keys)
    if claims is not None and secret is not None and type(claims.get("exp")) is int:
        if len(cache) >= VERIFIED_TOKENS:
            cache.clear()
        cache[token] = (kid, secret, claims)
    return claims


def verified_tokens(ctx: AppContext) -> dict[str, tuple[str | None, str, dict[str, Any]]]:
    """Token -> (kid, secret, claims), per process (see :func:`verified_claims`)."""
    return ctx.extras.setdefault("verified_access_tokens", {})  # type: ignore[return-value]


def access_claims(request: Request, ctx: AppContext, token: str) -> dict[str, Any] | None:
    """:func:`token_claims` of the request's token."""
    return token_claims(ctx, request.scope.setdefault("state", {}), token)


def current_staff(request: Request) -> StaffPrincipal:
    """The staff member of a bearer access token, with their current role (one query,
    no ORM session: it runs before every staff request)."""
    ctx = get_ctx(request)
    claims = access_claims(request, ctx, _bearer(request))
    if claims is None:
        raise ApiError(401, "invalid_token", "The access token is invalid or expired")
    with ctx.engine.connect().execution_options(**lone_statement(ctx.engine)) as conn:
        if conn.dialect.name == "postgresql":  # as written, on the driver's cursor
            found = fetch_pg(conn, _STAFF_BY_ID_PG, [claims["sub"]])
            staff = found[0] if found else None
        else:
            staff = conn.execute(_STAFF_BY_ID, {"staff_id": claims["sub"]}).first()
    if staff is None or not staff[4] or staff[5] != claims.get("ep"):
        raise ApiError(401, "invalid_token", "The access token was revoked")
    return StaffPrincipal(staff[0], staff[1], staff[2], staff[3])


_t = Terminal.__table__.c
_TERMINAL_BY_TOKEN = select(_t.id, _t.org_id, _t.store_id, _t.device_code, _t.revoked).where(
    _t.token_hash == bindparam("token_hash"))


def _terminal_token_hash(request: Request) -> str:
    token = _bearer(request)
    if not token.startswith(TERMINAL_TOKEN_PREFIX):
        raise ApiError(401, "invalid_token", "This endpoint needs a terminal token")
    return sha256_hex(token)


def _terminal_by_hash(ctx: AppContext, token_hash: str) -> TerminalPrincipal:
    with ctx.engine.connect().execution_options(**lone_statement(ctx.engine)) as conn:
        term = conn.execute(_TERMINAL_BY_TOKEN, {"token_hash": token_hash}).first()
    if term is None or term.revoked:
        raise ApiError(401, "invalid_token", "Unknown or revoked terminal")
    return TerminalPrincipal(term.id, term.org_id, term.store_id, term.device_code)


def current_terminal(request: Request) -> TerminalPrincipal:
    """The enrolled terminal of a bearer terminal token (``tt_...``), read on every request
    (a revoked terminal is refused at once); one Core query, no ORM session. The answer
    is remembered in :func:`terminal_cache` (a verified identity for the rate limiter)."""
    ctx = get_ctx(request)
    token_hash = _terminal_token_hash(request)
    principal = _terminal_by_hash(ctx, token_hash)
    _remember(ctx, token_hash, principal)
    return principal


def _remember(ctx: AppContext, token_hash: str, principal: TerminalPrincipal) -> None:
    cache = terminal_cache(ctx)
    if token_hash not in cache:
        if len(cache) >= TOKEN_CACHE_SIZE:
            cache.clear()
        cache[token_hash] = principal


def terminal_if_any(request: Request) -> TerminalPrincipal | None:
    """The enrolled terminal whose token the request carries, for requests that do not
    need one (a sign-in at a till); None for none, a staff token, an unknown or a revoked
    terminal token."""
    try:
        return current_terminal(request)
    except ApiError:
        return None


def carries_terminal_token(request: Request) -> bool:
    """Whether the request's bearer token is a terminal token (known or not)."""
    try:
        return _bearer(request).startswith(TERMINAL_TOKEN_PREFIX)
    except ApiError:
        return False


TOKEN_CACHE_SIZE = 10_000


def terminal_cache(ctx: AppContext) -> dict[str, TerminalPrincipal]:
    """Token hash -> terminal, per process (see :func:`pushing_terminal`)."""
    return ctx.extras.setdefault("terminal_tokens", {})  # type: ignore[return-value]


async def pushing_terminal(request: Request) -> TerminalPrincipal:
    """The terminal of a push's token, from a per-process cache after the first push.

    A terminal token is issued once, at enrollment, and names one terminal for good, so
    a cached identity is never wrong; what can change is whether the terminal is
    revoked, and the push's write transaction checks that under the terminal's lock
    (:class:`server.sync.chunk.Batch`), so a revoked terminal is still refused at once."""
    ctx = get_ctx(request)
    token_hash = _terminal_token_hash(request)
    cache = terminal_cache(ctx)
    principal = cache.get(token_hash)
    if principal is None:
        principal = await anyio.to_thread.run_sync(_terminal_by_hash, ctx, token_hash)
        _remember(ctx, token_hash, principal)
    return principal


def require(principal: StaffPrincipal, action: Action) -> None:
    if not allowed(principal.role, action):
        raise ApiError(
            403, "permission_denied", f"A {principal.role} may not do {action.value}",
            {"role": principal.role, "action": action.value},
        )


async def _ctx(request: Request) -> AppContext:
    """The app context, without a trip to the thread pool (a sync dependency takes one)."""
    return get_ctx(request)


StaffDep = Annotated[StaffPrincipal, Depends(current_staff)]
TerminalDep = Annotated[TerminalPrincipal, Depends(current_terminal)]
CtxDep = Annotated[AppContext, Depends(_ctx)]
