"""How ``tillsync-server serve`` logs (docs/operations.md): every record on stderr, one
line each, plain text or JSON lines; one access line per request from
``tillsync.server.access`` (server/middleware.py) carrying the organization, store and
terminal ids its credential proves. Never a personal value: the access line has route
templates and redacted queries already; ids here are opaque UUIDs, never names."""

from __future__ import annotations

import json
import logging
import os
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from server.auth.deps import terminal_cache, token_claims
from server.context import AppContext
from server.deps_tokens import TERMINAL_TOKEN_PREFIX
from server.security import sha256_hex

LOG_FORMATS = ("plain", "json")
ENV_VAR = "TILLSYNC_LOG_FORMAT"
ACCESS_LOGGER = "tillsync.server.access"
#: the ids an access line may carry, in the order the plain format prints them
ID_FIELDS = ("org_id", "store_id", "terminal_id")
#: and the trace id when the request is traced (server/tracing.py), set by the middleware
LINE_FIELDS = (*ID_FIELDS, "trace_id")


class _Credential:
    """A request's credential and, once a record found them, the ids it proves."""

    __slots__ = ("auth", "ctx", "ids", "state")

    def __init__(self, ctx: AppContext, auth: str, state: dict[str, Any] | None = None) -> None:
        self.ctx, self.auth, self.state = ctx, auth, state
        self.ids: dict[str, str] | None = None

    def proven_ids(self) -> dict[str, str]:
        """:func:`credential_ids`, kept once it names something: a terminal is in the
        cache only after the route verified it, so an empty answer is asked again. A
        staff token the rate limiter decoded (its claims in the request's state,
        server/middleware.py identity_key) is not decoded again."""
        if self.ids is None:
            ids = credential_ids(self.ctx, self.auth, self.state)
            if not ids:
                return ids
            self.ids = ids
        return self.ids


# the credential of the request this task is answering: its app context, its
# Authorization header, and the ids it proved once they were found (a staff token is
# decoded once per request, not once per log record)
_credential: ContextVar[_Credential | None] = ContextVar("credential", default=None)
# the middleware's access line: "%s %s%s %s %.1fms request_id=%s"
_ACCESS_ARGS = 6


def log_format(flag: str | None) -> str:
    """The format asked for: the flag, else TILLSYNC_LOG_FORMAT, else plain."""
    chosen = (flag or os.environ.get(ENV_VAR) or "plain").strip().lower()
    if chosen not in LOG_FORMATS:
        raise ValueError(f"{ENV_VAR}={chosen!r}: use one of {', '.join(LOG_FORMATS)}")
    return chosen


def credential_ids(ctx: AppContext, auth: str, state: dict[str, Any] | None = None
                   ) -> dict[str, str]:
    """The ids a request's credential proves without the database: a terminal this
    process has verified (its org, store and terminal), or a validly signed staff token
    (its org; the claims already decoded for this token in ``state`` when there are).
    Nothing for no credential, a made-up one, or one not verified yet."""
    scheme, _, token = auth.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return {}
    if token.startswith(TERMINAL_TOKEN_PREFIX):
        principal = terminal_cache(ctx).get(sha256_hex(token))
        if principal is None:
            return {}
        ids = {"org_id": principal.org_id, "store_id": principal.store_id}
        return ids | ({"terminal_id": principal.terminal_id} if principal.terminal_id else {})
    claims = token_claims(ctx, state if state is not None else {}, token)
    return {"org_id": str(claims["org"])} if claims and claims.get("org") else {}


class RequestIdentity:
    """Plain ASGI around the app: remembers the request's credential for the access
    line (read when the line is written, after the route verified it)."""

    def __init__(self, app: ASGIApp, ctx: AppContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        auth = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"authorization"),
                    "")
        token = _credential.set(_Credential(self.ctx, auth, scope.setdefault("state", {})))
        try:
            await self.app(scope, receive, send)
        finally:
            _credential.reset(token)


class IdentityFilter(logging.Filter):
    """Puts the request's org/store/terminal ids on each access record."""

    def filter(self, record: logging.LogRecord) -> bool:
        current = _credential.get()
        ids = current.proven_ids() if current is not None else {}
        for field in ID_FIELDS:
            setattr(record, field, ids.get(field))
        return True


def access_fields(record: logging.LogRecord) -> dict[str, Any] | None:
    """The access line's fields, or None for any other record."""
    args = record.args
    if record.name != ACCESS_LOGGER or not isinstance(args, tuple) or len(args) != _ACCESS_ARGS:
        return None
    method, route, query, status, seconds_ms, request_id = args
    fields: dict[str, Any] = {"method": method, "route": route}
    if query:
        fields["query"] = str(query).removeprefix("?")
    fields |= {"status": int(str(status)) if str(status).isdigit() else status,
               "duration_ms": round(float(str(seconds_ms)), 1), "request_id": request_id}
    for field in LINE_FIELDS:
        if getattr(record, field, None):
            fields[field] = getattr(record, field)
    return fields


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


class PlainFormatter(logging.Formatter):
    """``<UTC time> <level> <logger> <message>``, the ids appended to access lines."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{_timestamp(record)} {record.levelname} {record.name} {record.getMessage()}"
        line += "".join(f" {f}={getattr(record, f)}" for f in LINE_FIELDS if getattr(record, f, None))
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, and the access fields (or the
    message for any other record)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {"time": _timestamp(record), "level": record.levelname,
                                 "logger": record.name}
        fields = access_fields(record)
        entry |= fields if fields is not None else {"message": record.getMessage()}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(fmt: str, level: int = logging.INFO) -> None:
    """Every record to stderr in ``fmt``; uvicorn's own access log is off (the
    server's access line replaces it), its start-up and error lines kept."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else PlainFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    for name in ("tillsync", "uvicorn", "uvicorn.error"):
        logging.getLogger(name).setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    access = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, IdentityFilter) for f in access.filters):
        access.addFilter(IdentityFilter())
