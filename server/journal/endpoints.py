"""/journal: the latest check of the organization's journal and the check of a receipt
(manager and above, the asker's organization only); and the scheduled check, started
with the app (``journal_check_interval_s``; 0 turns it off)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, FastAPI, Query
from pydantic import BaseModel

from app.domain.permissions import Action
from app.domain.receipt_code import ReceiptCodeError
from server.auth.deps import CtxDep, StaffDep, TerminalDep, require
from server.context import AppContext
from server.errors import ApiError
from server.journal import heads, receipts, status

log = logging.getLogger("tillsync.server.journal")


async def run_schedule(ctx: AppContext, stop: asyncio.Event, interval: float) -> None:
    """Check every organization's journal now and then every ``interval`` seconds."""
    while not stop.is_set():
        try:
            verdicts = await asyncio.to_thread(status.check_all, ctx.engine, ctx.writer)
            for v in verdicts:
                if not v.ok:
                    log.error("journal check: %s", v.summary())
        except Exception:  # noqa: BLE001 - the check must not end the server
            log.exception("journal check failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    ctx: AppContext = app.state.ctx
    interval = float(getattr(ctx.settings, "journal_check_interval_s", 3600.0))
    stop = asyncio.Event()
    task = asyncio.create_task(run_schedule(ctx, stop, interval)) if interval > 0 else None
    collector = getattr(ctx.metrics, "journal", None)  # server/metrics.py JournalCollector
    if collector is not None:
        collector.source = lambda: _metric_rows(ctx)
    try:
        yield
    finally:
        stop.set()
        if task is not None:
            await task


def _metric_rows(ctx: AppContext) -> list[tuple[str, bool, int, float]]:
    with ctx.reader() as session:
        return [(r.org_id, r.ok, r.entries, r.checked_at.timestamp())
                for r in status.latest_results(session)]


router = APIRouter(prefix="/journal", tags=["journal"], lifespan=lifespan)


class JournalStatusOut(BaseModel):
    checked: bool
    ok: bool | None = None
    checked_at: datetime | None = None
    entries: int | None = None
    position: int | None = None
    problem: str | None = None


class ReceiptCheckOut(BaseModel):
    matches: bool
    reference: str
    message: str
    order_id: str | None = None
    journal_entry: int | None = None


@router.get("/status", response_model=JournalStatusOut)
def journal_status(staff: StaffDep, ctx: CtxDep) -> JournalStatusOut:
    """The latest scheduled check of the organization's journal."""
    require(staff, Action.REPORT_VIEW)
    with ctx.reader() as session:
        result = status.latest_result(session, staff.org_id)
    if result is None:
        return JournalStatusOut(checked=False)
    return JournalStatusOut(checked=True, ok=result.ok, checked_at=result.checked_at,
                            entries=result.entries, position=result.position,
                            problem=result.problem)


@router.get("/receipt", response_model=ReceiptCheckOut)
def receipt(staff: StaffDep, ctx: CtxDep,
            code: Annotated[str, Query(min_length=1, max_length=80,
                                       description="the receipt QR's text, TS1:<reference>:<code>")],
            ) -> ReceiptCheckOut:
    """Whether a receipt matches the server's journal (docs/journal.md)."""
    require(staff, Action.REPORT_VIEW)
    try:
        with ctx.reader() as session:
            found = receipts.check_receipt(session, staff.org_id, code)
    except ReceiptCodeError as exc:
        raise ApiError(422, "invalid_value", str(exc)) from exc
    return ReceiptCheckOut(matches=found.matches, reference=found.reference,
                           message=found.message, order_id=found.order_id,
                           journal_entry=found.journal_entry)


class HeadOut(BaseModel):
    seq: int
    hash: str


class TerminalHeadOut(BaseModel):
    recorded: bool
    seq: int | None = None
    hash: str | None = None
    #: every head held since the last that went back (a restore), oldest first
    heads: list[HeadOut] = []


@router.get("/terminal-head", response_model=TerminalHeadOut)
def terminal_head(terminal: TerminalDep, ctx: CtxDep) -> TerminalHeadOut:
    """The chain heads of this till the server's journal holds (terminal token): the
    latest, and every one since the last that went back; ``tillsync audit verify``
    compares each with the till's own entry at that seq."""
    found = heads.latest_head(ctx, terminal.terminal_id) if terminal.terminal_id else None
    if found is None or terminal.terminal_id is None:
        return TerminalHeadOut(recorded=False)
    held = heads.heads_since_went_back(ctx, terminal.terminal_id)
    return TerminalHeadOut(recorded=True, seq=found[0], hash=found[1],
                           heads=[HeadOut(seq=seq, hash=digest) for seq, digest in held])
