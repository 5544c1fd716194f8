"""One error envelope for every error: {"error": {code, message, request_id, details}}."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from server.db.retry import retryable

log = logging.getLogger("tillsync.server")
request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
BUSY_RETRY_AFTER_S = 1

_STATUS_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 410: "gone", 413: "too_large",
    415: "unsupported_media_type", 422: "validation_error", 423: "locked",
    429: "rate_limited", 500: "internal_error", 503: "unavailable",
}


class ApiError(Exception):
    """An error with an HTTP status, a stable machine code and a human message."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")


def forbidden(message: str) -> ApiError:
    return ApiError(403, "forbidden", message)


def envelope(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    rid = request_id_var.get()
    body = {"error": {"code": code, "message": message, "request_id": rid, "details": details}}
    hdrs = {"X-Request-ID": rid, **(headers or {})}
    return JSONResponse(body, status_code=status, headers=hdrs)


def _jsonable_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    out = []
    for err in errors:
        out.append({
            "loc": [str(p) for p in err.get("loc", ())],
            "msg": str(err.get("msg", "")),
            "type": str(err.get("type", "")),
        })
    return out


#: FastAPI's answer to a body json.loads fails on with anything but a JSONDecodeError
_BODY_PARSE_FAILED = "There was an error parsing the body"


def _unreadable_body(exc: StarletteHTTPException) -> dict[str, Any] | None:
    """The ``json_invalid`` problem of a body FastAPI could not read as JSON for another
    reason than a JSONDecodeError: bytes that are not UTF-8 after a JSON start, an
    integer past Python's digit limit, nesting past the recursion limit. FastAPI answers
    those 400 "There was an error parsing the body"; the docs (and a JSONDecodeError)
    say 422 ``json_invalid`` for any body that is not JSON or not UTF-8."""
    cause = exc.__cause__
    if exc.status_code != 400 or exc.detail != _BODY_PARSE_FAILED or not isinstance(
            cause, (ValueError, RecursionError)):  # (UnicodeDecodeError is a ValueError)
        return None
    position = cause.start if isinstance(cause, UnicodeDecodeError) else 0
    return {"loc": ["body", str(position)], "msg": "JSON decode error", "type": "json_invalid"}


def install_error_handlers(app: FastAPI) -> None:
    """Route every failure, including framework 404/405/422, through :func:`envelope`."""

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return envelope(exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if (unreadable := _unreadable_body(exc)) is not None:
            return envelope(422, "validation_error", "The request is not valid", [unreadable])
        code = _STATUS_CODES.get(exc.status_code, f"http_{exc.status_code}")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        return envelope(exc.status_code, code, message, None, dict(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return envelope(
            422, "validation_error", "The request is not valid", _jsonable_errors(exc.errors())
        )

    @app.exception_handler(OperationalError)
    async def _database(_request: Request, exc: OperationalError) -> JSONResponse:
        """A write the database rolled back (a deadlock, a lock timeout, SQLite busy) that
        stayed so through its retries: nothing was written, so the client may resend the
        same request. Any other database error (a lost connection, where the commit may
        have happened) stays a 500."""
        if not retryable(exc):
            return await _unexpected(_request, exc)
        log.warning("database busy request_id=%s: %s", request_id_var.get(), exc.orig)
        return envelope(503, "unavailable", "The database is busy; resend the same request",
                        {"retry_after_s": BUSY_RETRY_AFTER_S},
                        {"Retry-After": str(BUSY_RETRY_AFTER_S)})

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error request_id=%s", request_id_var.get())
        return envelope(500, "internal_error", "Something went wrong on the server")
