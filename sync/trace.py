"""W3C Trace Context (``traceparent``) for the till's requests to the server.

The till records no spans of its own; it names each request so that the server's trace
of it (server/tracing.py, when the server's tracing is on) carries an id the till knows
and can log: ``00-<trace id, 32 hex>-<parent id, 16 hex>-01``. A new parent id per
request; the trace id is the sync round's while :func:`sync_round` is open (a round's
push, pull pages and snapshot are then one trace on the server), else a new one per
request. The sampled flag is set: the server's default sampler follows its parent, and
an unset flag would leave every till request untraced (docs/operations.md, "Traces",
says how to sample a share of them). A request that already has a ``traceparent`` keeps
it.

Used as an httpx request hook (``event_hooks={"request": [trace.stamp]}``).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import httpx

HEADER = "traceparent"
VERSION = "00"
SAMPLED = "01"
#: what a valid header looks like (version 00; ids of hex digits, not all zeros)
PATTERN = re.compile(r"^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$")

_round: ContextVar[str | None] = ContextVar("tillsync_trace_round", default=None)


def _hex_id(size: int) -> str:
    """``size`` random bytes as lowercase hex, never all zeros (invalid in W3C)."""
    while True:
        value = secrets.token_hex(size)
        if value.strip("0"):
            return value


def new_trace_id() -> str:
    return _hex_id(16)


def traceparent(trace_id: str | None = None) -> str:
    """A ``traceparent`` value: ``trace_id`` (else the open round's, else a new one) and
    a new parent id."""
    return f"{VERSION}-{trace_id or _round.get() or new_trace_id()}-{_hex_id(8)}-{SAMPLED}"


def trace_id_of(value: str) -> str | None:
    """The trace id a ``traceparent`` value names (None if it is not a valid one)."""
    return value[3:35] if PATTERN.match(value) else None


@contextmanager
def sync_round() -> Iterator[str]:
    """Requests made in this context (this task and the tasks it starts) share one trace
    id, yielded (to log with the round)."""
    trace_id = new_trace_id()
    token = _round.set(trace_id)
    try:
        yield trace_id
    finally:
        _round.reset(token)


async def stamp(request: httpx.Request) -> None:
    """httpx request hook: the request gets a ``traceparent`` unless it has one."""
    if HEADER not in request.headers:
        request.headers[HEADER] = traceparent()
