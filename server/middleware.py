"""Request id, access log with timing, metrics and rate limiting for every request."""

from __future__ import annotations

import json
import logging
import math
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote, unquote_plus

from fastapi import FastAPI, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server import tracing
from server.auth.deps import terminal_cache, token_claims
from server.context import AppContext
from server.deps_tokens import TERMINAL_TOKEN_PREFIX
from server.errors import envelope, request_id_var
from server.ratelimit import Limiter, RequestLimits
from server.security import sha256_hex
from server.sync.dispatch import SURROGATE_REASON, unstorable_value
from sync.protocol import MAX_BODY_BYTES

access_log = logging.getLogger("tillsync.server.access")
EXEMPT = ("/health", "/metrics")

#: Query parameters whose values the access logs keep: paging, filters and ids that say
#: nothing about a person. Every other value (``phone``, ``email``, ``name``, a search
#: ``query``, codes, tokens, page tokens, and any parameter added later) is logged as
#: ``[redacted]``: a new parameter is private until it is put on this list.
SAFE_QUERY_PARAMS = frozenset({
    "after", "limit", "offset", "status", "store_id", "flag", "include_deleted",
})
REDACTED = "[redacted]"


def redacted_query(query_string: bytes | str) -> str:
    """The query string with every value outside :data:`SAFE_QUERY_PARAMS` replaced by
    ``[redacted]`` (names kept, so the log still shows what was asked); "" for none."""
    raw = query_string.decode("latin-1") if isinstance(query_string, bytes) else query_string
    if not raw:
        return ""
    parts = []
    for pair in raw.split("&"):
        name, sep, _value = pair.partition("=")
        name = unquote_plus(name)[:40]
        keep = sep and name in SAFE_QUERY_PARAMS
        parts.append(pair[:200] if keep else f"{quote(name, safe='')}={REDACTED}")
    return "&".join(parts)


class RedactQueryFilter(logging.Filter):
    """Redacts query values in uvicorn's own access log lines (``uvicorn.access``, whose
    record args are client, method, full path with query, HTTP version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            path, sep, query = args[2].partition("?")
            if sep:
                record.args = (*args[:2], f"{path}?{redacted_query(query)}", *args[3:])
        return True


def install_log_redaction() -> None:
    """Put :class:`RedactQueryFilter` on uvicorn's access logger (once per process; a
    logger filter survives uvicorn's later ``dictConfig``, which only adds handlers)."""
    uvicorn_access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactQueryFilter) for f in uvicorn_access.filters):
        uvicorn_access.addFilter(RedactQueryFilter())


NUL_MARKERS = (b"\\u0000", b"\x00")
#: a JSON escape of a UTF-16 surrogate (paired for a character past U+FFFF, or alone)
SURROGATE_MARKER = b"\\ud"


def holds_lone_surrogate(body: bytes) -> bool:
    """Whether a JSON body holds a lone UTF-16 surrogate escape ("\\ud800" unpaired): JSON
    syntax but no Unicode text, which PostgreSQL refuses (500) and SQLite stores, after
    which every snapshot of the store fails. Only a body with a surrogate escape is
    parsed (paired escapes, an emoji, decode to one character and pass) and walked as a
    push's op is (server/sync/dispatch.py ``unstorable_value``); a body that is not JSON
    is left to the route's own 422."""
    if SURROGATE_MARKER not in body.lower():
        return False
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return False
    return unstorable_value(value) == SURROGATE_REASON


class BodyTooLarge(Exception):
    """A request body past :data:`MAX_BODY_BYTES` (announced or streamed)."""


def too_large() -> Response:
    """413 ``too_large`` in the error envelope, with the limit in ``details``."""
    mib = MAX_BODY_BYTES // (1024 * 1024)
    return envelope(413, "too_large",
                    f"The request body is larger than {mib} MiB; send it in smaller parts "
                    f"(fewer operations per push)", {"max_bytes": MAX_BODY_BYTES})


def _declared_length(scope: Scope) -> int:
    """The Content-Length header (0 when absent or not a number)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0


def limited(receive: Receive, limit: int = MAX_BODY_BYTES) -> Receive:
    """``receive`` raising :class:`BodyTooLarge` once the body passes ``limit`` bytes."""
    seen = 0

    async def counting() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge
        return message

    return counting


#: A route's shortcut: answers a request without FastAPI (True) or declines (False),
#: leaving it to the route. Gets the app context, the scope, the whole body and send.
Shortcut = Callable[[AppContext, Scope, bytes, Send], Awaitable[bool]]


class RequestMiddleware:
    """Request id, rate limit, NUL guard, metrics and access log, as plain ASGI.

    (Starlette's BaseHTTPMiddleware runs the app in a second task with memory streams
    between the two: about as much CPU per request as a small endpoint itself.)

    NUL characters (PostgreSQL text cannot hold them) are refused outside /sync/push,
    which rejects such operations one by one instead of refusing the whole batch.

    A body over :data:`MAX_BODY_BYTES` answers 413 ``too_large``: at once when its
    Content-Length says so, else as soon as that many bytes arrived (before the app or
    the push shortcut sees any of it).

    ``shortcuts`` maps (method, path) to a :data:`Shortcut` tried before the app: the
    hottest route (POST /sync/push) answers its plain requests there, with the request
    id, rate limit, metrics and access log of every other request."""

    def __init__(self, app: ASGIApp, ctx: AppContext,
                 shortcuts: dict[tuple[str, str], Shortcut] | None = None) -> None:
        self.app = app
        self.ctx = ctx
        self.shortcuts = shortcuts or {}
        self.limits = request_limits(ctx)

    async def _rate_limited(self, scope: Scope, auth: str) -> Response | None:
        """429 when the bucket of the request's trusted identity, else of its client
        address, has no token left (server/ratelimit.py); None to go on."""
        identity = identity_key(self.ctx, auth, scope)
        if identity is not None:
            wait = await _take(self.limits.identity, identity)
        else:
            client = scope.get("client")
            wait = await _take(self.limits.address, client[0] if client else "unknown")
        if wait == 0.0:
            return None
        retry = str(max(1, math.ceil(wait)))
        return envelope(429, "rate_limited", "Too many requests; slow down",
                        {"retry_after_s": float(retry)}, {"Retry-After": retry})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ctx = self.ctx
        rid = ""
        auth = ""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                rid = value.decode("latin-1")
            elif name == b"authorization":
                auth = value.decode("latin-1")
        rid = (rid or uuid.uuid4().hex)[:100]
        token = request_id_var.set(rid)
        trace_id = tracing.tag_request(rid)  # "" unless traced (server/tracing.py)
        start = time.perf_counter()
        path: str = scope["path"]
        method: str = scope["method"]
        state: dict[str, Any] = {"status": 500, "started": False, "route": None}
        rid_header = rid.encode("latin-1")

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                state["started"] = True
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() != b"x-request-id"]
                headers.append((b"x-request-id", rid_header))
                message = {**message, "headers": headers}
            await send(message)

        receive = limited(receive)
        try:
            response: Response | None = None
            if _declared_length(scope) > MAX_BODY_BYTES:
                response = too_large()
            if response is None and ctx.settings.rate_limit_enabled and not path.startswith(EXEMPT):
                response = await self._rate_limited(scope, auth)
            if response is None and ("%00" in scope.get("query_string", b"").decode("latin-1")
                                     or "\x00" in path):
                response = envelope(422, "validation_error", "The request contains a NUL character")
            if response is None and method in ("POST", "PUT", "PATCH") and path != "/sync/push":
                body, receive = await _buffered(receive)
                if any(marker in body.lower() for marker in NUL_MARKERS):
                    response = envelope(422, "validation_error",
                                        "The request contains a NUL character")
                elif holds_lone_surrogate(body):
                    response = envelope(422, "validation_error",
                                        "The request contains text that is not Unicode "
                                        "(a lone UTF-16 surrogate escape such as \\ud800)")
            shortcut = self.shortcuts.get((method, path)) if response is None else None
            if shortcut is not None:
                body, receive = await _buffered(receive)
                if await shortcut(ctx, scope, body, send_with_id):
                    state["route"] = path
                    return
            if response is not None:
                await response(scope, receive, send_with_id)
            else:
                await self.app(scope, receive, send_with_id)
        except BodyTooLarge:
            if state["started"]:
                raise
            await too_large()(scope, _no_body, send_with_id)
        except Exception:
            access_log.exception("unhandled error request_id=%s", rid)
            if state["started"]:
                raise
            await envelope(500, "internal_error", "Something went wrong on the server")(
                scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)
            elapsed = time.perf_counter() - start
            route = scope.get("route")
            route_path = state["route"] or getattr(route, "path", None) or "unmatched"
            status = str(state["status"])
            ctx.metrics.requests.labels(method, route_path, status).inc()
            ctx.metrics.latency.labels(method, route_path).observe(elapsed)
            if access_log.isEnabledFor(logging.INFO):
                # the route template (/staff/{staff_id}), never the raw path or query
                query = redacted_query(scope.get("query_string", b""))
                access_log.info("%s %s%s %s %.1fms request_id=%s",
                                method, route_path, "?" + query if query else "", status,
                                elapsed * 1000, rid, extra={"trace_id": trace_id or None})


def request_limits(ctx: AppContext) -> RequestLimits:
    """The app's two rate-limit stages, made once per app (shared on PostgreSQL)."""
    limits = ctx.extras.get("request_limits")
    if not isinstance(limits, RequestLimits):
        settings = ctx.settings
        limits = RequestLimits.build(ctx.engine, settings.rate_limit_per_second,
                                     settings.rate_limit_burst, postgres=not settings.is_sqlite,
                                     local_identity=ctx.limiter)
        ctx.extras["request_limits"] = limits
    return limits


def identity_key(ctx: AppContext, auth: str, scope: Scope | None = None) -> str | None:
    """The identity a request's credential proves, if this process can trust it without
    the database: the staff member of a validly signed access token, or a terminal
    whose token this process has verified before (server.auth.deps.terminal_cache).
    None for no credential, a made-up one, or one not verified yet: such a request is
    limited by its client address, so a random header per request buys nothing.

    A staff token's claims are left in ``scope``'s state (server.auth.deps.token_claims):
    the route's ``current_staff`` and the access line then do not decode it again."""
    scheme, _, token = auth.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    if token.startswith(TERMINAL_TOKEN_PREFIX):
        principal = terminal_cache(ctx).get(sha256_hex(token))
        return f"terminal:{principal.terminal_id}" if principal is not None else None
    state: dict[str, Any] = scope.setdefault("state", {}) if scope is not None else {}
    claims = token_claims(ctx, state, token)
    return f"staff:{claims['sub']}" if claims and claims.get("sub") else None


async def _take(limiter: Limiter, key: str) -> float:
    wait = limiter.take(key)
    return await limiter.take_shared(key) if wait is None else wait


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _buffered(receive: Receive) -> tuple[bytes, Receive]:
    """The whole request body, and a receive that hands it to the app again."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


def install_middleware(app: FastAPI, ctx: AppContext,
                       shortcuts: dict[tuple[str, str], Shortcut] | None = None) -> None:
    install_log_redaction()
    app.add_middleware(RequestMiddleware, ctx=ctx, shortcuts=shortcuts)
