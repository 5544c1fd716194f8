"""A thin async HTTP client for the sync endpoints (httpx.AsyncClient).

Why typed exceptions: the push loop must tell errors that hold the queue (network
down, timeout, 5xx, 429 with Retry-After: try the very same operations again
later) from errors retrying cannot fix (401 revoked terminal, 422 malformed
request: stop and tell the admin). Every server error arrives in one envelope,
``{"error": {"code", "message", "request_id", "details"}}``; we keep its code and
message so the status bar can say what went wrong in words.
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, TypeAlias

import httpx
import orjson
from pydantic import ValidationError

from sync import trace
from sync.protocol import (
    MAX_BATCH,
    MAX_BODY_BYTES,
    PROTOCOL_VERSION,
    DevicePosition,
    EncodedOperation,
    JournalHead,
    Operation,
    PullResponse,
    PushRequest,
    PushResponse,
    SnapshotResponse,
    parse_pull_page,
)

# 3 s to connect (a server that is down refuses at once; one that is unreachable should
# not hold a round), 20 s for any one read (a busy server's big answer still arrives).
# A round that hangs longer than a few seconds is shown as offline by the desktop's
# watchdog (ui/sync_runner.py), not by cutting slow answers short.
DEFAULT_TIMEOUT = httpx.Timeout(20.0, connect=3.0)
USER_AGENT = "tillsync-terminal/1"
#: What a push sends: models, or operations the outbox already wrote as JSON (both alike).
Outgoing: TypeAlias = Operation | EncodedOperation


class SyncError(Exception):
    """Any failure talking to the server."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        details: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id
        self.details = details

    def __str__(self) -> str:
        where = f" (HTTP {self.status}, {self.code})" if self.status else ""
        return f"{self.message}{where}"


class TransientError(SyncError):
    """Worth retrying with the same request: network, timeout, 5xx, 429."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class PermanentError(SyncError):
    """Retrying the same request will fail the same way (4xx other than 429/410)."""


class AuthError(PermanentError):
    """401/403: the terminal token is wrong or revoked; re-enroll."""


class CursorExpired(SyncError):
    """HTTP 410 on pull: the cursor is older than the feed horizon; resync from a snapshot."""

    def __init__(self, message: str, *, horizon: int | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.horizon = horizon


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(when.tzinfo)).total_seconds())


def error_from_response(resp: httpx.Response) -> SyncError:
    """Parse the error envelope (or anything else) into the matching exception."""
    code: str | None = None
    message = resp.reason_phrase or f"HTTP {resp.status_code}"
    details: Any = None
    request_id = resp.headers.get("x-request-id")
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):  # the server's envelope
            code = err.get("code") or code
            message = err.get("message") or message
            details = err.get("details")
            request_id = err.get("request_id") or request_id
        elif isinstance(err, str):  # the flat SnapshotRequired shape of sync/protocol.py
            code = err
            message = body.get("message") or message
            details = body
    kw: dict[str, Any] = {"status": resp.status_code, "code": code, "request_id": request_id,
                          "details": details}
    status = resp.status_code
    if status == 410:
        horizon = None
        if isinstance(details, dict):
            horizon = details.get("horizon")
        return CursorExpired(message, horizon=horizon, **kw)
    if status == 429 or status >= 500 or status == 408:
        return TransientError(message, retry_after=_retry_after(resp.headers.get("retry-after")), **kw)
    if status in (401, 403):
        return AuthError(message, **kw)
    return PermanentError(message, **kw)


#: The server certificate an admin checked on the first-run screen (a self-signed one),
#: in the till's data directory: it is then the one certificate the till trusts.
PINNED_CERT = "server-cert.pem"


def server_trust(data_dir: Path) -> ssl.SSLContext | bool:
    """What the till trusts for https: the pinned certificate if one was saved, else the
    machine's certificate authorities."""
    pinned = Path(data_dir) / PINNED_CERT
    return ssl.create_default_context(cafile=str(pinned)) if pinned.exists() else True


class SyncClient:
    """One server, one terminal token. Use as ``async with SyncClient(...) as c``."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(
            base_url=self.base_url, headers=headers, timeout=timeout, transport=transport,
            verify=verify,
            event_hooks={"request": [trace.stamp]},  # each request's W3C traceparent
        )

    async def __aenter__(self) -> SyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _send(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            resp = await self._http.request(method, path, **kw)
        except httpx.TimeoutException as exc:
            raise TransientError(f"The server did not answer in time ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise TransientError(f"Cannot reach the server: {exc or type(exc).__name__}") from exc
        if resp.status_code >= 400:
            raise error_from_response(resp)
        return resp

    async def _request(self, method: str, path: str, **kw: Any) -> Any:
        resp = await self._send(method, path, **kw)
        try:
            return resp.json()
        except ValueError as exc:
            # A cut-off or garbled body: the request may have been applied; retrying is safe.
            raise TransientError("The server's answer was not valid JSON",
                                 status=resp.status_code) from exc

    async def enroll(self, code: str, name: str) -> dict[str, Any]:
        """POST /terminals/enroll (no token needed): the terminal's identity and token."""
        return await self._request("POST", "/terminals/enroll", json={"code": code, "name": name})

    async def me(self) -> dict[str, Any]:
        return await self._request("GET", "/terminals/me")

    async def journal_head(self) -> dict[str, Any]:
        """GET /journal/terminal-head: the last chain head of this till the server's
        journal holds (``recorded``, ``seq``, ``hash``; docs/journal.md)."""
        return await self._request("GET", "/journal/terminal-head")

    async def attention(self) -> dict[str, Any]:
        """GET /attention/terminal: what needs attention that only the server knows, for
        this till's store (silent tills, the journal check; docs/client-guide.md 7c)."""
        return await self._request("GET", "/attention/terminal")

    async def push(self, operations: Sequence[Outgoing],
                   journal_head: JournalHead | None = None) -> PushResponse:
        """POST /sync/push. A batch whose body is too large (past MAX_BODY_BYTES, or a 413
        from a server with a lower limit) goes in two halves, one after the other, and
        the answers are put together as the server's answer to the whole would be."""
        if len(operations) > MAX_BATCH:
            raise ValueError(f"at most {MAX_BATCH} operations per push")
        body = push_body(operations, journal_head)
        if len(body) > MAX_BODY_BYTES and len(operations) > 1:
            return await self._push_halves(operations, journal_head)
        try:
            return await self._push_body(body)
        except PermanentError as exc:
            if exc.status != 413 or len(operations) < 2:
                raise
        return await self._push_halves(operations, journal_head)

    async def _push_halves(self, operations: Sequence[Outgoing],
                           journal_head: JournalHead | None = None) -> PushResponse:
        half = len(operations) // 2
        first = await self.push(operations[:half], journal_head)
        answered = {r.op_id for r in first.results}
        if first.gap_from is not None or not answered.issuperset(
                op.op_id for op in operations[:half]):
            return first  # held back: the second half would be too
        second = await self.push(operations[half:], journal_head)
        return PushResponse(results=first.results + second.results,
                            last_applied_seq=second.last_applied_seq,
                            gap_from=second.gap_from, server_time=second.server_time)

    async def _push_body(self, body: bytes) -> PushResponse:
        resp = await self._send("POST", "/sync/push", content=body,
                                headers={"Content-Type": "application/json"})
        try:
            return PushResponse.model_validate_json(resp.content)
        except ValidationError as exc:
            # cut off or garbled: the push may have been applied; resending is safe
            raise TransientError("The server's answer to a push was not valid",
                                 status=resp.status_code) from exc

    async def pull(self, after: int, limit: int | None = None) -> PullResponse:
        params: dict[str, int] = {"after": after}
        if limit:
            params["limit"] = limit
        resp = await self._send("GET", "/sync/pull", params=params)
        try:  # orjson, and the changes checked as the server sends them (parse_pull_page)
            return parse_pull_page(resp.content)
        except ValidationError as exc:
            if any(e["type"] != "json_invalid" for e in exc.errors()):
                raise  # JSON, but not a page (as model_validate of resp.json() raised)
            # A cut-off or garbled body: the request may have been applied; retrying is safe.
            raise TransientError("The server's answer was not valid JSON",
                                 status=resp.status_code) from exc

    async def position(self, after: int | None = None, limit: int = 500) -> DevicePosition:
        """GET /sync/position: this terminal's last applied op_seq and reference on the
        server (with ``after``: the op_ids it applied from op_seq ``after + 1`` on)."""
        params: dict[str, int] = {} if after is None else {"after": after, "limit": limit}
        body = await self._request("GET", "/sync/position", params=params)
        return DevicePosition.model_validate(body)

    async def snapshot(self, page_token: str | None = None,
                       limit: int | None = None) -> SnapshotResponse:
        """GET /sync/snapshot: one page of the store's server-owned state and the cursor it is
        at (the first page without ``page_token``; then the previous ``next_page_token``)."""
        params: dict[str, str | int] = {}
        if page_token:
            params["page_token"] = page_token
        if limit:
            params["limit"] = limit
        body = await self._request("GET", "/sync/snapshot", params=params)
        return SnapshotResponse.model_validate(body)

    async def orders(self, *, reference: str | None = None, created_from: datetime | None = None,
                     created_to: datetime | None = None, page_token: str | None = None,
                     limit: int | None = None) -> SnapshotResponse:
        """GET /sync/orders: the store's orders older than the snapshot's window, on demand
        (one by reference, or a range of days), applied like a snapshot page."""
        params: dict[str, str | int] = {}
        if reference is not None:
            params["reference"] = reference
        if created_from is not None:
            params["created_from"] = created_from.isoformat()
        if created_to is not None:
            params["created_to"] = created_to.isoformat()
        if page_token:
            params["page_token"] = page_token
        if limit:
            params["limit"] = limit
        body = await self._request("GET", "/sync/orders", params=params)
        return SnapshotResponse.model_validate(body)


def push_body(operations: Sequence[Outgoing], journal_head: JournalHead | None = None) -> bytes:
    """The JSON body of a push, as ``PushRequest(...).model_dump_json()`` writes it. Models
    are encoded by pydantic-core (a batch of 500 sales: tens of ms); operations already
    in their wire form (EncodedOperation) are joined as they are (well under a ms)."""
    lag = sync_lag(operations)
    models = [op for op in operations if isinstance(op, Operation)]
    if len(models) == len(operations):
        return PushRequest(operations=[*models], oldest_pending_age_s=lag,
                           journal_head=journal_head).model_dump_json().encode()
    items = b",".join(op.wire if isinstance(op, EncodedOperation) else op.model_dump_json().encode()
                      for op in operations)
    rest = orjson.dumps({"oldest_pending_age_s": lag, "journal_head":
                         None if journal_head is None else journal_head.model_dump()})
    return b'{"protocol":%d,"operations":[%b],%b' % (PROTOCOL_VERSION, items, rest[1:])


def sync_lag(operations: Sequence[Outgoing]) -> float | None:
    """Seconds since the oldest of these operations was recorded: pending operations go
    out oldest first, so it is the age of the oldest one not yet synced (the server shows
    it per terminal on /metrics)."""
    if not operations:
        return None
    oldest = min(op.created_at if op.created_at.tzinfo else op.created_at.replace(tzinfo=UTC)
                 for op in operations)
    return min(max((datetime.now(UTC) - oldest).total_seconds(), 0.0), 1e9)
