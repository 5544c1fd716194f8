"""Screens that call the server themselves (not the sync loop): whether they can now,
why not in words, and one way to run the call off the GUI thread.

The call runs on the ops helper's ``net`` lane (ui/ops.py) in an asyncio loop of its own
(httpx.AsyncClient, as the first-run screen does), so neither the GUI thread nor the
database lane waits on the network. The client is the sync loop's own (the till's
server URL, TLS trust and terminal token).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sync.client import AuthError, SyncClient, SyncError, TransientError
from sync.rejected_actions import ActionRefused
from sync.staff_api import NotInQuarantine
from ui.context import AppContext
from ui.ops import Failure, Success

T = TypeVar("T")

NOT_CONNECTED = "This till is not connected to a server (it was never enrolled with one)"
OFFLINE = "Offline: the server cannot be reached now; try again once the status bar says Online"


def offline_reason(ctx: AppContext) -> str | None:
    """None when the server answered the last sync round; else why a call cannot be made."""
    sync = ctx.sync
    if sync is None:
        return NOT_CONNECTED
    if not sync.service.online:
        return OFFLINE
    return None


def new_client(ctx: AppContext) -> SyncClient:
    assert ctx.sync is not None, NOT_CONNECTED
    client: SyncClient = ctx.sync.service.client_factory()
    return client


def run_call(ctx: AppContext, call: Callable[[SyncClient], Awaitable[T]], *,
             success: Success | None = None, failure: Failure | None = None) -> None:
    """``call(client)`` on the net lane; ``success``/``failure`` on the GUI thread."""
    client = new_client(ctx)

    def job() -> Any:
        return asyncio.run(call(client))

    ctx.ops.run(job, success=success, failure=failure, lane="net")


def words(exc: BaseException) -> str | None:
    """A server call's failure in words for the person at the till; None: not one of ours."""
    if isinstance(exc, TransientError):
        return f"The server cannot be reached now ({exc.message}); nothing was changed"
    if isinstance(exc, AuthError) and exc.code == "permission_denied":
        return (f"The server refused: {exc.message}. Only someone the server allows "
                "(a manager of this store, an admin or the owner) can do this")
    if isinstance(exc, SyncError):
        return f"The server refused: {exc.message}"
    if isinstance(exc, ActionRefused | NotInQuarantine):
        return str(exc)
    return None
