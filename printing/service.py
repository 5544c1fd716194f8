"""Printing as the rest of the app sees it: printers, the queue, PDFs and previews.

The sale is committed before anything here runs. ``enqueue_*`` renders the job's
bytes from the committed order and writes the job to the persisted queue at
once; ``process_pending`` sends what is waiting, one queue per printer in the
order jobs were made, each printer on its own thread so a dead one holds up
nobody else. Nothing here raises for a printer problem: the job fails with the
printer's name and the reason, and stays until it is retried or reprinted.
All calls are synchronous and may block (``process_pending`` up to its timeout
per job); the UI calls them from a worker thread.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from app.domain.words import count_of
from app.store.local import LocalStore
from printing.connections import (
    PrinterConfig,
    PrinterConfigError,
    PrinterError,
    connection_for,
)
from printing.escpos_output import render_receipt, render_rows, render_test_page
from printing.layout import receipt_rows, receipt_text
from printing.pdf_output import write_invoice_pdf, write_receipt_pdf
from printing.queue import QUEUE_FILE, PrintJobError, PrintJobView, PrintQueue, QueuedJob
from printing.receipt import build_receipt
from printing.schedule import (
    SCHEDULE_KIND,
    build_schedule,
    render_schedule,
    rows_text,
    schedule_or_none,
    with_plan,
    write_schedule_pdf,
)

NO_PRINTER = "no printer configured"
TEST_KIND = "test"

_printer_locks: dict[tuple[str, str], threading.Lock] = {}
_locks_guard = threading.Lock()


def _printer_lock(queue_path: Path, printer: str) -> threading.Lock:
    """One sender per printer per queue file in this process, so jobs go out in order."""
    with _locks_guard:
        return _printer_locks.setdefault((str(queue_path.resolve()), printer), threading.Lock())


@dataclass(frozen=True)
class JobOutcome:
    """What happened to one job when the queue was processed."""

    job_id: str
    printer: str
    ok: bool
    error: str | None = None


def printer_label(cfg: PrinterConfig) -> str:
    """'Front till (192.168.1.50:9100)': how errors name a printer."""
    try:
        return f"{cfg.name} ({connection_for(cfg).describe()})"
    except PrinterConfigError:
        return cfg.name


class PrintService:
    def __init__(self, store: LocalStore) -> None:
        self.store = store
        self.queue = PrintQueue(Path(store.data_dir) / QUEUE_FILE, cipher=store.cipher)

    # printers ---------------------------------------------------------------

    def printers(self) -> list[PrinterConfig]:
        return self.queue.printers()

    def save_printer(self, cfg: PrinterConfig) -> None:
        """Add or change a printer (raises PrinterConfigError with a message for the admin)."""
        self.queue.save_printer(cfg)

    def remove_printer(self, name: str) -> None:
        self.queue.remove_printer(name)

    def _resolve(self, printer: str | None) -> tuple[PrinterConfig | None, str | None]:
        """The printer to use and, when there is none, why not."""
        if printer is None:
            cfg = self.queue.default_printer()
            return cfg, None if cfg else NO_PRINTER
        cfg = self.queue.printer(printer)
        return cfg, None if cfg else f"{printer}: no such printer is set up"

    # enqueueing -------------------------------------------------------------

    def _receipt_payload(self, order_id: str, cfg: PrinterConfig | None, *, open_drawer: bool,
                         copy: bool) -> tuple[bytes, str, str]:
        doc = build_receipt(self.store, order_id, copy=copy)
        kick = bool(cfg and cfg.open_drawer and open_drawer and doc.had_cash and not copy)
        plan = schedule_or_none(self.store, order_id)
        if plan is None:
            payload = render_receipt(doc, cfg.paper_mm if cfg else 80, open_drawer=kick)
        else:  # a plan sale's receipt ends with its payment schedule
            payload = render_rows(with_plan(receipt_rows(doc), plan), cfg.paper_mm if cfg else 80,
                                  open_drawer=kick)
        return payload, doc.kind, doc.reference

    def enqueue_receipt(self, order_id: str, *, printer: str | None = None, open_drawer: bool = False,
                        copy: bool = False) -> str:
        """Queue the committed order's receipt; returns the job id.

        ``printer`` None means the default printer. The drawer opens only when asked,
        the printer has a drawer (``open_drawer`` in its set-up) and the sale took
        cash; never for a copy. With no printer the job is kept as failed.
        """
        cfg, problem = self._resolve(printer)
        payload, kind, reference = self._receipt_payload(order_id, cfg, open_drawer=open_drawer,
                                                         copy=copy)
        name = cfg.name if cfg else (printer or "")
        return self.queue.add(name, kind, payload, order_id=order_id, reference=reference,
                              status="failed" if problem else "pending", error=problem)

    def enqueue_test_page(self, printer: str) -> str:
        cfg = self.queue.printer(printer)
        if cfg is None:
            raise PrinterConfigError(f"No printer named “{printer}” is set up")
        payload = self._test_payload(cfg)
        return self.queue.add(cfg.name, TEST_KIND, payload)

    def _test_payload(self, cfg: PrinterConfig) -> bytes:
        where = connection_for(cfg).describe()
        return render_test_page(cfg.name, where, cfg.paper_mm, open_drawer=cfg.open_drawer)

    def enqueue_labels(self, product_ids: list[str], *, printer: str | None = None, copies: int = 1) -> str:
        """Queue shelf labels of the products (ESC/POS) on ``printer`` or the default one."""
        from printing.labels import LABELS_KIND, labels_for, render_labels_escpos

        cfg, problem = self._resolve(printer)
        labels = labels_for(self.store, product_ids, copies)
        if not labels:
            raise PrintJobError("Choose at least one product to print labels for")
        payload = render_labels_escpos(labels, cfg.paper_mm if cfg else 80)
        name = cfg.name if cfg else (printer or "")
        return self.queue.add(name, LABELS_KIND, payload, reference=count_of(len(labels), "label"),
                              status="failed" if problem else "pending", error=problem)

    def labels_pdf(self, product_ids: list[str], path: Path, copies: int = 1) -> Path:
        """Shelf labels of the products as A4 sheets (3 x 8) in a PDF."""
        from printing.labels import labels_for, write_labels_pdf

        return write_labels_pdf(labels_for(self.store, product_ids, copies), Path(path))

    # payment schedules and refund receipts -----------------------------------

    def enqueue_schedule(self, order_id: str, *, printer: str | None = None) -> str:
        """Queue the order's payment schedule (ESC/POS) on ``printer`` or the default one."""
        cfg, problem = self._resolve(printer)
        doc = build_schedule(self.store, order_id)
        payload = render_schedule(doc, cfg.paper_mm if cfg else 80)
        name = cfg.name if cfg else (printer or "")
        return self.queue.add(name, SCHEDULE_KIND, payload, order_id=order_id, reference=doc.reference,
                              status="failed" if problem else "pending", error=problem)

    def schedule_pdf(self, order_id: str, path: Path) -> Path:
        """The order's payment schedule as an 80 mm PDF."""
        return write_schedule_pdf(build_schedule(self.store, order_id), Path(path))

    def enqueue_refund(self, refund_id: str, *, printer: str | None = None) -> str:
        """Queue the receipt of one refund (its lines, amount and method); drawer stays shut."""
        from printing.refund_receipt import build_refund_receipt

        cfg, problem = self._resolve(printer)
        doc = build_refund_receipt(self.store, refund_id)
        payload = render_receipt(doc, cfg.paper_mm if cfg else 80)
        name = cfg.name if cfg else (printer or "")
        order_id = self._order_of_refund(refund_id)
        return self.queue.add(name, doc.kind, payload, order_id=order_id, reference=doc.reference,
                              status="failed" if problem else "pending", error=problem)

    def enqueue_latest_refund(self, order_id: str, *, printer: str | None = None) -> str:
        """Queue the receipt of the order's most recent refund (a reprint from the order detail)."""
        from printing.refund_receipt import latest_refund_id

        refund_id = latest_refund_id(self.store, order_id)
        if refund_id is None:
            raise PrintJobError("This order has no refund to print")
        return self.enqueue_refund(refund_id, printer=printer)

    def enqueue_exchange(self, refund_id: str, order_id: str, *, printer: str | None = None,
                         open_drawer: bool = False) -> str:
        """Queue the one slip of an exchange (printing/exchange_receipt.py): returned lines,
        new lines, the net; the drawer opens only when cash changed hands."""
        from printing.exchange_receipt import build_exchange_receipt

        cfg, problem = self._resolve(printer)
        doc = build_exchange_receipt(self.store, refund_id, order_id)
        kick = bool(cfg and cfg.open_drawer and open_drawer and doc.had_cash)
        payload = render_receipt(doc, cfg.paper_mm if cfg else 80, open_drawer=kick)
        name = cfg.name if cfg else (printer or "")
        return self.queue.add(name, doc.kind, payload, order_id=order_id, reference=doc.reference,
                              status="failed" if problem else "pending", error=problem)

    def refund_pdf(self, refund_id: str, path: Path) -> Path:
        from printing.refund_receipt import build_refund_receipt

        return write_receipt_pdf(build_refund_receipt(self.store, refund_id), Path(path))

    def _order_of_refund(self, refund_id: str) -> str | None:
        from app.store.models_aftersale import Refund

        with self.store.db.read() as s:
            refund = s.get(Refund, refund_id)
            return refund.order_id if refund else None

    def reprint(self, order_id: str, printer: str | None = None) -> str:
        """Queue a copy of the receipt (marked as a reprint, drawer stays shut)."""
        return self.enqueue_receipt(order_id, printer=printer, copy=True)

    # sending ----------------------------------------------------------------

    def _send(self, job: QueuedJob, timeout_s: float) -> JobOutcome:
        name = job.view.printer
        cfg = self.queue.printer(name)
        if cfg is None:
            error = f"{name or 'No printer'}: no such printer is set up"
        else:
            try:
                connection_for(cfg).send(job.payload, timeout_s)
                error = None
            except (PrinterError, PrinterConfigError) as exc:
                error = f"{printer_label(cfg)}: {exc}"
            except Exception as exc:  # a driver bug must not lose the job or stop the queue
                error = f"{printer_label(cfg)}: unexpected error: {exc!r}"
        self.queue.finish(job.view.id, error)
        return JobOutcome(job.view.id, name, error is None, error)

    def _drain(self, printer: str, timeout_s: float) -> list[JobOutcome]:
        """Send one printer's pending jobs in order until none are left or one fails."""
        lock = _printer_lock(self.queue.path, printer)
        if not lock.acquire(blocking=False):
            return []  # another thread is already sending to this printer
        outcomes: list[JobOutcome] = []
        try:
            while (job := self.queue.claim_next(printer)) is not None:
                outcomes.append(self._send(job, timeout_s))
                if not outcomes[-1].ok:
                    break  # the rest wait for the next round, still in order
        finally:
            lock.release()
        return outcomes

    def process_pending(self, timeout_s: float = 5.0) -> list[JobOutcome]:
        """Send every pending job; blocks; never raises for printer errors."""
        printers = self.queue.printers_with_pending()
        if not printers:
            return []
        with ThreadPoolExecutor(max_workers=min(8, len(printers)), thread_name_prefix="print") as pool:
            results = list(pool.map(lambda p: self._drain(p, timeout_s), printers))
        return [outcome for per_printer in results for outcome in per_printer]

    # the queue screen -------------------------------------------------------

    def jobs(self, status: str | None = None, limit: int = 100) -> list[PrintJobView]:
        return self.queue.jobs(status, limit)

    def keep_printed_days(self) -> float:
        """How many days a printed job stays in the queue (7 unless the admin changed it)."""
        return self.queue.keep_printed() / timedelta(days=1)

    def set_keep_printed_days(self, days: float) -> None:
        """Keep printed jobs ``days`` days; failed ones are kept until someone acts."""
        self.queue.set_keep_printed(timedelta(days=days))

    def cancel(self, job_id: str) -> PrintJobView:
        """Drop a waiting or failed job (the print queue screen's Cancel)."""
        return self.queue.cancel(job_id)

    def job(self, job_id: str) -> PrintJobView:
        return self.queue.get(job_id).view

    def retry(self, job_id: str) -> None:
        """Put a failed job back in line; if its printer is gone, send it to the default one."""
        job = self.queue.get(job_id)
        if job.view.status == "done":
            raise PrintJobError("That job was printed; reprint the receipt for another copy")
        if job.view.status != "failed":
            return
        if self.queue.printer(job.view.printer) is not None:
            self.queue.requeue(job_id)
            return
        cfg = self.queue.default_printer()
        if cfg is None:
            self.queue.requeue(job_id, error=NO_PRINTER)
            return
        self.queue.requeue(job_id, printer=cfg.name, payload=self._rerender(job, cfg))

    def _rerender(self, job: QueuedJob, cfg: PrinterConfig) -> bytes:
        """The job's bytes for another printer (its paper width may differ)."""
        if job.view.kind in ("labels", "refund", "exchange", "x_report", "z_report"):
            return job.payload  # labels carry no order, a refund or exchange job no refund id: same bytes
        if job.view.kind == SCHEDULE_KIND and job.view.order_id:
            return render_schedule(build_schedule(self.store, job.view.order_id), cfg.paper_mm)
        if job.view.order_id is None:
            return self._test_payload(cfg)
        copy = job.view.kind == "reprint"
        payload, _, _ = self._receipt_payload(job.view.order_id, cfg, open_drawer=False, copy=copy)
        return payload

    # documents --------------------------------------------------------------

    def receipt_pdf(self, order_id: str, path: Path) -> Path:
        """The receipt as an 80 mm wide PDF (for e-mail or a printer without ESC/POS)."""
        return write_receipt_pdf(build_receipt(self.store, order_id), Path(path))

    def invoice_pdf(self, order_id: str, path: Path) -> Path:
        """An A4 invoice of the order."""
        return write_invoice_pdf(build_receipt(self.store, order_id), Path(path))

    def preview_text(self, order_id: str, width: int = 48) -> str:
        plan = schedule_or_none(self.store, order_id)
        if plan is not None:
            return rows_text(with_plan(receipt_rows(build_receipt(self.store, order_id)), plan), width)
        return receipt_text(build_receipt(self.store, order_id), width)
