"""/attention: what needs attention that only the server knows (``report.view``).

``GET /attention`` answers a signed-in staff member for the stores they may read;
``GET /attention/terminal`` answers a till (its terminal token) for its own store,
which it keeps for its "needs attention" list while offline (sync/attention_pull.py).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.domain.permissions import Action
from server.attention import service
from server.attention.schemas import AttentionOut
from server.auth.deps import CtxDep, StaffDep, TerminalDep, require
from server.pagination import StoreFilter
from sync.protocol import ErrorEnvelope

router = APIRouter(prefix="/attention", tags=["attention"])

SilentAfter = Annotated[int | None, Query(
    ge=60, le=90 * 86400, description="seconds without a word from a terminal before it "
    "counts as silent; the server's setting (attention_silent_after_s, 3600) when absent")]


@router.get("", response_model=AttentionOut,
            responses={403: {"model": ErrorEnvelope, "description": "permission_denied "
                             "(needs report.view); store_scope (not a store you work at)"},
                       404: {"model": ErrorEnvelope, "description": "no such store in "
                             "your organization"}})
def attention(staff: StaffDep, ctx: CtxDep, store_id: StoreFilter = None,
              silent_after_s: SilentAfter = None) -> AttentionOut:
    """Terminals silent for longer than ``silent_after_s``, the journal check failing
    (with the first bad entry) or stale, operations quarantined at the server, webhook
    deliveries failing; ``items`` lists only what needs seeing to. An owner or admin reads
    every store of the organization, a manager the stores whose tills they work on."""
    require(staff, Action.REPORT_VIEW)
    return service.for_staff(ctx, staff, store_id, silent_after_s)


@router.get("/terminal", response_model=AttentionOut,
            responses={403: {"model": ErrorEnvelope, "description": "permission_denied: "
                             "the till's role ceiling does not reach report.view"}})
def attention_for_terminal(terminal: TerminalDep, ctx: CtxDep,
                           silent_after_s: SilentAfter = None) -> AttentionOut:
    """The same for the asking till's store, with its terminal token. The request counts
    as hearing from the till."""
    return service.for_terminal(ctx, terminal, silent_after_s)
