"""X and Z reports as documents: ESC/POS bytes (58/80 mm), a PDF, and print-queue jobs.

The figures come from app/services/shift_reports.py (an X now; a Z as it was at its
close, so a reprint years later prints the same numbers, marked REPRINT); the rows from
app/domain/shift_report_lines.py, which the server's PDF uses too. Laid out as
:class:`printing.layout.Row` s, like receipts and schedules, so printer, PDF and preview
say the same. A job goes through the persisted print queue: a missing printer keeps it
failed with the reason, to be retried or reprinted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.domain import shift_report_lines as lines
from app.services import shift_reports
from app.store.local import LocalStore
from app.store.models import Device, StoreSettings
from printing.layout import BIG, BOLD, RULE, Row
from printing.receipt import StoreHeader, _Fmt, _header
from printing.service import NO_PRINTER, PrintService

X_KIND = "x_report"
Z_KIND = "z_report"


@dataclass(frozen=True)
class ShiftReportDocument:
    store: StoreHeader
    kind: str  # X_KIND or Z_KIND
    title: str  # "X report", "Z report 12"
    rows: tuple[lines.ReportRow, ...]


def _context(store: LocalStore) -> tuple[StoreHeader, _Fmt, str, str]:
    """The store's header, its money format, and this till's name and code."""
    with store.db.read() as s:
        device = s.get(Device, store.device_id)
        settings = (s.get(StoreSettings, device.store_id) if device is not None else None) \
            or s.query(StoreSettings).first()
        if settings is None:
            return StoreHeader("", (), ""), _Fmt("EUR", "en_IE"), "", ""
        till, code = (device.name, device.code) if device is not None else ("", "")
        return _header(settings), _Fmt(settings.currency, settings.locale), till, code


def x_document(store: LocalStore, shift_id: str | None = None) -> ShiftReportDocument:
    """The X report of the open shift (or ``shift_id``) now; it changes nothing."""
    header, fmt, till, code = _context(store)
    report = shift_reports.x_report(store, shift_id)
    return ShiftReportDocument(header, X_KIND, "X report",
                               tuple(lines.x_rows(report, fmt, till, code=code)))


def z_document(store: LocalStore, z_number: int | None = None, shift_id: str | None = None,
               *, reprint: bool = False) -> ShiftReportDocument:
    """A Z report of this till as it was at its close (``reprint`` marks a copy)."""
    header, fmt, till, code = _context(store)
    z = shift_reports.z_report(store, z_number, shift_id)
    return ShiftReportDocument(header, Z_KIND, f"Z report {z.z_number}",
                               tuple(lines.z_rows(z, fmt, till, reprint=reprint, code=code)))


def report_rows(doc: ShiftReportDocument) -> list[Row]:
    """The printer's rows: the store's header, then the report's rows."""
    rows = [Row(doc.store.name, style=BIG, center=True)]
    rows += [Row(x, center=True) for x in doc.store.address_lines]
    rows.append(Row(style=RULE))
    for r in doc.rows:
        if r.kind == lines.TITLE:
            rows.append(Row(r.label, style=BIG, center=True))
        elif r.kind == lines.HEADING:
            if rows[-1].style != RULE:
                rows.append(Row(style=RULE))
            rows.append(Row(r.label.upper(), style=BOLD))
        elif r.kind == lines.RULE:
            rows.append(Row(style=RULE))
        else:
            rows.append(Row(r.label, r.value))
    return rows


def render_shift_report(doc: ShiftReportDocument, paper_mm: int = 80) -> bytes:
    from printing.escpos_output import render_rows

    return render_rows(report_rows(doc), paper_mm)


def report_text(doc: ShiftReportDocument, width: int = 48) -> str:
    """The report as the printer's plain text (the preview; tests read it)."""
    from printing.schedule import rows_text

    return rows_text(report_rows(doc), width)


def write_shift_report_pdf(doc: ShiftReportDocument, path: Path) -> Path:
    """The report as an 80 mm PDF, drawn like the receipt PDF."""
    from printing.pdf_output import write_slip_pdf

    return write_slip_pdf(report_rows(doc), path, doc.title, doc.store.name)


def enqueue_shift_report(service: PrintService, doc: ShiftReportDocument,
                         printer: str | None = None) -> str:
    """Queue ``doc`` on ``printer`` (or the default) through the app's print service;
    returns the job id. No printer: the job is kept as failed with the reason, for a
    retry or a reprint (a report job keeps its bytes when moved to another printer)."""
    queue = service.queue
    cfg = queue.default_printer() if printer is None else queue.printer(printer)
    problem = None if cfg else (NO_PRINTER if printer is None
                                else f"{printer}: no such printer is set up")
    payload = render_shift_report(doc, cfg.paper_mm if cfg else 80)
    name = cfg.name if cfg else (printer or "")
    return queue.add(name, doc.kind, payload, reference=doc.title,
                     status="failed" if problem else "pending", error=problem)
