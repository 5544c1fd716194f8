"""/sync: push, pull, snapshot (terminal token); quarantine (admins, and managers for the
stores they work at) and compaction (admins)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import anyio
from fastapi import APIRouter, Query, Request, Response

from app.domain.limits import ID_LENGTH, MAX_COUNT
from app.domain.permissions import Action
from server.auth.deps import CtxDep, StaffDep, TerminalDep, pushing_terminal, require
from server.db.models import Staff as StaffRow
from server.errors import ApiError
from server.feed import orders as order_feed
from server.feed import service as feed
from server.feed import snapshot as snapshot_feed
from server.health import feed_lag
from server.ops import import_outbox as outbox_import
from server.ops.import_outbox import ImportOutboxOut
from server.pagination import Offset, StoreFilter
from server.sync import position as device_position
from server.sync import proofs, quarantine
from server.sync import service as sync_service
from server.sync.schemas import (
    CompactIn,
    CompactOut,
    DismissIn,
    QuarantineOut,
    ResubmitIn,
    ResubmitOut,
)
from sync.protocol import (
    ApprovalProof,
    ApprovalProofRequest,
    DevicePosition,
    ErrorEnvelope,
    PullResponse,
    PushRequest,
    PushResponse,
    SnapshotResponse,
)

router = APIRouter(prefix="/sync", tags=["sync"])


@router.post("/push", response_model=PushResponse,
             responses={400: {"model": ErrorEnvelope,
                              "description": "unsupported_protocol: the body's protocol is "
                                             "not one this server speaks (details: protocol, "
                                             "supported); nothing applied"},
                        401: {"model": ErrorEnvelope, "description": "no or a revoked terminal token"},
                        413: {"model": ErrorEnvelope,
                              "description": "too_large: the body is over MAX_BODY_BYTES (8 MiB); "
                                             "send fewer operations per push"},
                        422: {"model": ErrorEnvelope,
                              "description": "validation_error: not a push body, or an item "
                                             "without an op_id string (at most 64 characters) "
                                             "and an op_seq"}})
async def push(body: PushRequest, request: Request, ctx: CtxDep) -> Response:
    """Apply operations in op_seq order; one result per op (ops held back by a gap have none,
    ``gap_from`` names the first missing op_seq). Needs a terminal token (Bearer tt_...).

    Each operation is checked on its own against the Operation schema and its payload's
    (ids are UUIDs, numbers and texts within their ranges): one that breaks them is
    answered ``rejected`` naming the field and range, quarantined, and counted in
    ``last_applied_seq``; the others apply."""
    terminal = await pushing_terminal(request)
    result = await sync_service.push(ctx, terminal, body)
    # serialized here, once: the model was built by the server, re-validating it is waste
    return Response(result.model_dump_json(), media_type="application/json")


@router.get(
    "/pull", response_model=PullResponse,
    responses={410: {"model": ErrorEnvelope, "description": "cursor_expired: load a snapshot"}},
)
def pull(
    terminal: TerminalDep,
    ctx: CtxDep,
    after: Annotated[int, Query(ge=0, le=MAX_COUNT)] = 0,
    limit: Annotated[int | None, Query(ge=1, le=MAX_COUNT)] = None,
) -> Response:
    """The store's changes after ``after`` in commit order; pass ``cursor`` back as ``after``."""
    size = min(limit or ctx.settings.pull_default_limit, ctx.settings.pull_max_limit)
    # the page's JSON built from the feed's stored JSON text (server/feed/service.py)
    body, cursor = feed.pull_json(ctx, terminal, after, size)
    feed_lag.pulled(ctx, terminal, cursor)  # /metrics: how far behind each till is
    return Response(body, media_type="application/json")


@router.get("/position", response_model=DevicePosition)
def position(
    terminal: TerminalDep,
    ctx: CtxDep,
    after: Annotated[int | None, Query(ge=0, le=MAX_COUNT)] = None,
    limit: Annotated[int, Query(ge=1, le=device_position.MAX_OPS)] = 500,
) -> DevicePosition:
    """Where the server stands for this terminal: its last applied ``op_seq`` and the
    highest order reference it holds from it; with ``after``, the op_ids applied under
    the op_seqs after it. A till restored from a backup continues after these; a till
    whose acknowledged ops go further than ``last_applied_seq`` resends them (the server
    was restored). See docs/backup-restore.md."""
    return device_position.position(ctx, terminal, after, limit)


@router.get(
    "/snapshot", response_model=SnapshotResponse,
    responses={400: {"model": ErrorEnvelope, "description": "invalid_page_token"},
               410: {"model": ErrorEnvelope,
                     "description": "cursor_expired: the feed was compacted past this "
                                    "snapshot's cursor while paging; start again"}},
)
def snapshot(
    terminal: TerminalDep,
    ctx: CtxDep,
    page_token: Annotated[str | None, Query(max_length=2000)] = None,
    limit: Annotated[int | None, Query(ge=1, le=MAX_COUNT)] = None,
    order_days: Annotated[int | None, Query(ge=0, le=36_500, description=(
        "first page only: the orders of this many last days (default: the server's "
        "snapshot_order_days, 30 unless set; 0: every order). Older orders with a balance "
        "due or a pending approval come too; any other older one: GET /sync/orders"))] = None,
) -> SnapshotResponse:
    """Full current state of the terminal's store and org, a page at a time, with the cursor
    to pull from after the last page. Pass ``next_page_token`` back as ``page_token`` while
    ``has_more``. Without ``page_token`` and ``limit`` (clients from before paging) the whole
    state comes in one answer, unless the server is set to page those too. Orders: those of
    the last ``order_days`` days (see the parameter)."""
    settings = ctx.settings
    size: int | None = min(limit or settings.snapshot_default_limit, settings.snapshot_max_limit)
    if page_token is None and limit is None and settings.snapshot_unpaged_whole:
        size = None
    return snapshot_feed.snapshot_page(ctx, terminal, page_token, size, order_days)


@router.get("/orders", response_model=SnapshotResponse,
            responses={400: {"model": ErrorEnvelope, "description": "invalid_page_token: "
                             "not the id of an order of this store this server sent"},
                       422: {"model": ErrorEnvelope, "description": "invalid_value: neither "
                             "reference nor a created_from/created_to range"}})
def orders(
    terminal: TerminalDep,
    ctx: CtxDep,
    reference: Annotated[str | None, Query(
        min_length=1, max_length=40, description=(
            "an order's reference (e.g. GO-01004K): that one order, if it is of this "
            "terminal's store"))] = None,
    created_from: Annotated[datetime | None, Query(description=(
        "start of the range, inclusive (ISO 8601 with its offset); with or without "
        "created_to, instead of reference"))] = None,
    created_to: Annotated[datetime | None, Query(description=(
        "end of the range, exclusive (ISO 8601 with its offset)"))] = None,
    page_token: Annotated[str | None, Query(max_length=ID_LENGTH, description=(
        "the previous page's next_page_token, while has_more"))] = None,
    limit: Annotated[int, Query(ge=1, le=order_feed.MAX_ORDERS, description=(
        "orders a page (their lines, payments and approvals come with them)"))] = 100,
) -> SnapshotResponse:
    """Orders of the terminal's store on demand (older than its snapshot's window): one by
    ``reference``, or those made in [``created_from``, ``created_to``), by id, ``limit`` a
    page, each page's approvals after its orders; ``next_page_token`` while ``has_more``.
    Apply them like a snapshot page; ``cursor`` is for information only (do not pull
    from it)."""
    return order_feed.orders_page(ctx, terminal, reference=reference, created_from=created_from,
                                  created_to=created_to, page_token=page_token, limit=limit)


QUARANTINE_403 = {"model": ErrorEnvelope, "description": "permission_denied: needs "
                  "sync.resolve (a manager: the stores whose tills they work on) or "
                  "sync.admin (every store; also to vouch for an op of a role above one's own)"}
QUARANTINE_404 = {"model": ErrorEnvelope, "description": "no such entry (or store) in your "
                  "organization, or of a store you do not work at"}


@router.get("/quarantine", response_model=list[QuarantineOut],
            responses={403: QUARANTINE_403, 404: QUARANTINE_404})
def list_quarantine(
    staff: StaffDep,
    ctx: CtxDep,
    status: Annotated[str | None, Query(max_length=20)] = "open",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Offset = 0,
    store_id: StoreFilter = None,
    op_id: Annotated[str | None, Query(min_length=1, max_length=64, description=(
        "only this operation's entries (a till finds its refused op in one call)"))] = None,
    device_id: Annotated[str | None, Query(min_length=1, max_length=ID_LENGTH,
                                           description="only this till's entries")] = None,
) -> list[QuarantineOut]:
    """Operations the server refused, newest first (``status`` ``open`` unless asked;
    empty: every status). ``sync.admin`` reads every store of the organization,
    ``sync.resolve`` (a manager) the stores whose tills they work on."""
    require(staff, Action.SYNC_RESOLVE)
    return quarantine.list_quarantine(ctx, staff, status or None, limit, offset,
                                      store_id=store_id, op_id=op_id, device_id=device_id)


@router.post("/approval-proofs", response_model=ApprovalProof,
             responses={403: {"model": ErrorEnvelope, "description": "not this op's approver, "
                              "not allowed to approve it, or above the till's ceiling"},
                        404: {"model": ErrorEnvelope, "description": "no such enrolled till"},
                        422: {"model": ErrorEnvelope, "description": "not a privileged op"}})
def approval_proof(body: ApprovalProofRequest, staff: StaffDep, ctx: CtxDep) -> ApprovalProof:
    """A server-issued approver's proof (``kind: online``) for one privileged operation,
    to send as its ``approval_proof``. Needs the approver's own staff token (a sign-in
    with their PIN, lockout and all); the proof fits that op of that till only, and a
    new PIN ends the proofs issued before it (docs/security.md)."""
    with ctx.writer.begin() as session:
        person = session.get(StaffRow, staff.staff_id)
        if person is None or not person.active:
            raise ApiError(401, "invalid_token", "This staff member is no longer active")
        return ApprovalProof.model_validate(proofs.issue_online(session, person, body))


@router.post("/quarantine/{qid}/resubmit", response_model=ResubmitOut,
             responses={403: QUARANTINE_403, 404: QUARANTINE_404,
                        409: {"model": ErrorEnvelope, "description": "not_open: already "
                              "resubmitted or dismissed"},
                        422: {"model": ErrorEnvelope,
                              "description": "invalid_value: the operation is still not valid"}})
def resubmit(qid: str, body: ResubmitIn, staff: StaffDep, ctx: CtxDep) -> ResubmitOut:
    """Run the operation again (with a fixed ``payload`` or ``actor_id`` if given), vouched
    for by the signed-in person: no approver's proof is asked. Audited as
    ``quarantine.resubmit``."""
    require(staff, Action.SYNC_RESOLVE)
    return quarantine.resubmit(ctx, staff, qid, body)


@router.post("/quarantine/{qid}/dismiss", response_model=QuarantineOut,
             responses={403: QUARANTINE_403, 404: QUARANTINE_404,
                        409: {"model": ErrorEnvelope, "description": "not_open: already "
                              "resubmitted or dismissed"}})
def dismiss(qid: str, body: DismissIn, staff: StaffDep, ctx: CtxDep) -> QuarantineOut:
    """Close the entry without applying it. ``reason`` (1-500 characters) is kept with who
    and when (``dismiss_reason``, ``resolved_by``, ``resolved_at``) and in the audit
    entry ``quarantine.dismiss``."""
    require(staff, Action.SYNC_RESOLVE)
    return quarantine.dismiss(ctx, staff, qid, body.reason)


@router.post("/import-outbox", response_model=ImportOutboxOut,
             responses={404: {"model": ErrorEnvelope, "description": "no terminal of this "
                              "organization made the file"},
                        422: {"model": ErrorEnvelope, "description": "invalid_file: not an "
                              "outbox file, altered, or not its terminal's"}})
async def import_outbox(request: Request, staff: StaffDep, ctx: CtxDep) -> ImportOutboxOut:
    """Import a till's outbox file (``tillsync export-outbox``; the body is the file's
    bytes) with a push's rules: each operation applied once, whether it was pushed or
    imported before. Needs ``sync.admin``. Files over 8 MiB: ``tillsync-server
    import-outbox FILE``."""
    require(staff, Action.SYNC_ADMIN)
    raw = await request.body()
    done = await anyio.to_thread.run_sync(outbox_import.import_outbox, ctx, raw, staff.org_id)
    return ImportOutboxOut.of(done)


@router.post("/compact", response_model=CompactOut)
def compact(body: CompactIn, staff: StaffDep, ctx: CtxDep) -> CompactOut:
    """Drop a store's feed up to ``before_position``; older cursors then get HTTP 410."""
    require(staff, Action.SYNC_ADMIN)
    horizon = feed.compact(ctx, staff.org_id, body.store_id, body.before_position)
    return CompactOut(store_id=body.store_id, horizon=horizon)
