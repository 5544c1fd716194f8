"""Request id, access log with timing, metrics and rate limiting for every request."""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from starlette.middleware.base import BaseHTTPMiddleware

from server.context import AppContext
from server.errors import envelope, request_id_var
from server.security import sha256_hex

access_log = logging.getLogger("tillsync.server.access")
EXEMPT = ("/health", "/metrics")


def _client_key(request: Request) -> str:
    auth = request.headers.get("authorization")
    if auth:
        return "auth:" + sha256_hex(auth)[:32]
    return "ip:" + (request.client.host if request.client else "unknown")


NUL_MARKERS = (b"\\u0000", b"\x00")


async def _guarded(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Refuse NUL characters (PostgreSQL text cannot hold them) outside /sync/push,
    which rejects such operations one by one instead of refusing the whole batch."""
    if "%00" in request.url.query or "\x00" in request.url.path:
        return envelope(422, "validation_error", "The request contains a NUL character")
    if request.method in ("POST", "PUT", "PATCH") and request.url.path != "/sync/push":
        body = await request.body()
        if any(marker in body.lower() for marker in NUL_MARKERS):
            return envelope(422, "validation_error", "The request contains a NUL character")
    return await call_next(request)


def install_middleware(app: FastAPI, ctx: AppContext) -> None:
    async def dispatch(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        rid = request.headers.get("x-request-id") or uuid.uuid4().hex
        rid = rid[:100]
        token = request_id_var.set(rid)
        start = time.perf_counter()
        path = request.url.path
        try:
            if ctx.settings.rate_limit_enabled and not path.startswith(EXEMPT):
                wait = ctx.limiter.take(_client_key(request))
                if wait > 0:
                    retry = str(max(1, math.ceil(wait)))
                    response: Response = envelope(
                        429, "rate_limited", "Too many requests; slow down",
                        {"retry_after_s": float(retry)}, {"Retry-After": retry},
                    )
                else:
                    response = await _guarded(request, call_next)
            else:
                response = await _guarded(request, call_next)
        except Exception:
            access_log.exception("unhandled error request_id=%s", rid)
            response = envelope(500, "internal_error", "Something went wrong on the server")
        finally:
            request_id_var.reset(token)
        elapsed = time.perf_counter() - start
        route = request.scope.get("route")
        route_path = getattr(route, "path", None) or "unmatched"
        ctx.metrics.requests.labels(request.method, route_path, str(response.status_code)).inc()
        ctx.metrics.latency.labels(request.method, route_path).observe(elapsed)
        response.headers["X-Request-ID"] = rid
        access_log.info(
            "%s %s %s %.1fms request_id=%s",
            request.method, path, response.status_code, elapsed * 1000, rid,
        )
        return response

    app.add_middleware(BaseHTTPMiddleware, dispatch=dispatch)
