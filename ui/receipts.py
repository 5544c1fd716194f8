"""Receipts after a sale and on reprint: queue the job, then print OFF the GUI thread.

The sale is already committed when this runs. Queueing writes the persisted job
(database lane); printing talks to the printer (device lane) and may take
seconds or fail; a failure is an error notice naming the job, the printer and the
reason (a job that failed as it was queued, e.g. with no printer set up, too), and
the job waits in the print queue screen to be retried or cancelled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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

    ctx.ops.run(enqueue, success=lambda job: process_queue(ctx, done, job_id=job), failure=failed)


def process_queue(ctx: AppContext, done: Callable[[list[Any]], None] | None = None, *,
                  job_id: str | None = None) -> None:
    """Send waiting jobs to their printers on the device lane; report failures.

    ``job_id``, the job just queued, is reported too when it failed before it could
    be sent (no printer set up, its printer removed)."""
    service = ctx.printing
    if service is None:
        return

    def send() -> list[Any]:
        outcomes = list(service.process_pending(timeout_s=5.0) or [])
        if job_id and not any(getattr(o, "job_id", None) == job_id for o in outcomes):
            job = service.job(job_id)
            if job.status == "failed":
                outcomes.append(_Failed(job.id, job.printer, job.last_error or "not sent"))
        return outcomes

    def finished(outcomes: list[Any]) -> None:
        report_outcomes(ctx, outcomes)
        ctx.print_jobs_changed.emit()
        if done is not None:
            done(outcomes)

    def failed(exc: BaseException) -> bool:
        ctx.error(messages.printer_failed("the printer", str(exc)))
        ctx.print_jobs_changed.emit()
        return True

    ctx.ops.run(send, lane="device", success=finished, failure=failed)


@dataclass(frozen=True)
class _Failed:
    job_id: str
    printer: str
    error: str
    ok: bool = False


def _failed(outcome: Any) -> bool:
    ok = getattr(outcome, "ok", None)
    if ok is not None:
        return not ok
    return str(getattr(outcome, "status", "")).lower() in ("failed", "error")


def report_outcomes(ctx: AppContext, outcomes: list[Any]) -> None:
    """Each failed job as an error notice (it stays until dismissed): what, where, why."""
    service = ctx.printing
    for outcome in outcomes or []:
        if _failed(outcome):
            printer = getattr(outcome, "printer", None) or getattr(outcome, "printer_name", "") or ""
            detail = getattr(outcome, "error", None) or getattr(outcome, "message", None) or "no answer"
            what = ""
            job_id = getattr(outcome, "job_id", None)
            if job_id and service is not None:
                try:
                    job = service.job(job_id)
                    what = messages.print_job_name(job.kind, job.reference)
                except LookupError:
                    what = ""
            ctx.error(messages.print_failed(what, str(printer), str(detail)))
