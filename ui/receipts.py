"""Receipts after a sale and on reprint: queue the job, then print OFF the GUI thread.

The sale is already committed when this runs. Queueing writes the persisted job
(database lane); printing talks to the printer (device lane) and may take
seconds or fail; a failure is a non-blocking notice naming the printer, and the
job waits in the queue to be retried or reprinted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.store.disk import disk_full
from ui import messages
from ui.context import AppContext

RECEIPT_KEPT = "The sale is saved: reprint its receipt from Today's sales once there is space"


def print_receipt(ctx: AppContext, order_id: str, *, open_drawer: bool = False, reprint: bool = False,
                  done: Callable[[list[Any]], None] | None = None) -> None:
    """Queue the receipt of ``order_id`` and process the queue in the background."""
    service = ctx.printing
    if service is None:
        ctx.warn(messages.PRINTING_UNAVAILABLE)
        return

    def enqueue() -> Any:
        if reprint:
            return service.reprint(order_id)
        return service.enqueue_receipt(order_id, open_drawer=open_drawer)

    def failed(exc: BaseException) -> bool:
        full = disk_full(exc, ctx.store.data_dir, kept=RECEIPT_KEPT)
        ctx.warn(str(full) if full else f"The receipt was not queued: {exc}")
        return True

    ctx.ops.run(enqueue, success=lambda _job: process_queue(ctx, done), failure=failed)


def process_queue(ctx: AppContext, done: Callable[[list[Any]], None] | None = None) -> None:
    """Send waiting jobs to their printers on the device lane; report failures."""
    service = ctx.printing
    if service is None:
        return

    def finished(outcomes: list[Any]) -> None:
        report_outcomes(ctx, outcomes)
        if done is not None:
            done(outcomes)

    def failed(exc: BaseException) -> bool:
        ctx.warn(messages.printer_failed("the printer", str(exc)))
        return True

    ctx.ops.run(lambda: service.process_pending(timeout_s=5.0), lane="device",
                success=finished, failure=failed)


def _failed(outcome: Any) -> bool:
    ok = getattr(outcome, "ok", None)
    if ok is not None:
        return not ok
    return str(getattr(outcome, "status", "")).lower() in ("failed", "error")


def report_outcomes(ctx: AppContext, outcomes: list[Any]) -> None:
    for outcome in outcomes or []:
        if _failed(outcome):
            printer = getattr(outcome, "printer", None) or getattr(outcome, "printer_name", "the printer")
            detail = getattr(outcome, "error", None) or getattr(outcome, "message", None) or "no answer"
            ctx.warn(messages.printer_failed(str(printer), str(detail)))
