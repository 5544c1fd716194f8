"""A payment plan's schedule as a document: ESC/POS bytes (58/80 mm) and a PDF.

Read from the committed order and :func:`app.services.payment_plans.plan_status`
(the same allocation of payments to installments the order detail shows), laid
out as :class:`printing.layout.Row` s so the thermal printer, the PDF and the
receipt of a plan sale (which ends with these rows) print the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from app.services.customers import decrypt
from app.services.payment_plans import plan_status
from app.store.local import LocalStore
from app.store.models import Order
from printing.layout import BARCODE, BIG, BOLD, RULE, TABLE, Row
from printing.receipt import ReceiptError, StoreHeader, _Fmt, _header

SCHEDULE_KIND = "schedule"


@dataclass(frozen=True)
class ScheduleRow:
    number: int
    due: str  # 15/02/2026
    amount: str
    paid: str
    outstanding: str
    overdue: bool


@dataclass(frozen=True)
class ScheduleDocument:
    store: StoreHeader
    reference: str
    printed_on: date
    customer_name: str | None
    total: str
    down_payment: str
    paid: str
    balance: str
    rows: tuple[ScheduleRow, ...]
    status: str
    #: what the goods brought back are worth (total - paid - this = balance)
    returned: str | None = None


def date_text(d: date) -> str:
    return d.strftime("%d/%m/%Y")


def build_schedule(store: LocalStore, order_id: str, today: date | None = None) -> ScheduleDocument:
    """The schedule of ``order_id`` as of ``today``; ReceiptError if it has no plan."""
    today = today or date.today()
    settings = store.settings()
    status = plan_status(store, order_id)
    with store.db.read() as s:
        order = s.get(Order, order_id)
        if order is None or status is None:
            raise ReceiptError("This order has no payment plan")
        fmt = _Fmt(order.currency, settings.locale)
        customer = decrypt(store.cipher, order.customer).name if order.customer else None
        rows = tuple(ScheduleRow(i.number, date_text(i.due_date), fmt(i.amount), fmt(i.paid),
                                 fmt(i.outstanding), i.outstanding > 0 and i.due_date < today)
                     for i in status.installments)
        return ScheduleDocument(_header(settings), order.reference, today, customer, fmt(order.total),
                                fmt(status.down_payment), fmt(order.paid - order.refunded),
                                fmt(max(0, order.balance)), rows, order.status,
                                _brought_back(order, fmt))


def _brought_back(order: Order, fmt: _Fmt) -> str | None:
    """What the goods brought back are worth (at least what was paid back), when any:
    the order's total less what was paid so far less this is its balance
    (app/domain/order_balance.py)."""
    returned = order.returned
    return f"-{fmt(max(returned, order.refunded))}" if returned > 0 else None


def plan_rows(doc: ScheduleDocument) -> list[Row]:
    """The schedule table (no store header): also the tail of a plan sale's receipt."""
    rows = [Row(style=RULE), Row("PAYMENT SCHEDULE", style=BOLD, center=True),
            Row("Down payment", doc.down_payment),
            Row(style=TABLE, cells=("#  Due", "Amount", "Paid", "Left"))]
    for r in doc.rows:
        mark = " !" if r.overdue else ""
        rows.append(Row(style=TABLE, cells=(f"{r.number}  {r.due}{mark}", r.amount, r.paid, r.outstanding)))
    rows.append(Row("Balance", doc.balance, style=BOLD))
    if any(r.overdue for r in doc.rows):
        rows.append(Row("! overdue"))
    return rows


def schedule_rows(doc: ScheduleDocument) -> list[Row]:
    """The printed payment schedule, top to bottom."""
    rows = [Row(doc.store.name, style=BIG, center=True)]
    rows += [Row(line, center=True) for line in doc.store.address_lines]
    rows += [Row(style=RULE), Row("*** PAYMENT SCHEDULE ***", style=BOLD, center=True),
             Row(doc.reference, date_text(doc.printed_on))]
    if doc.customer_name:
        rows.append(Row(f"Customer: {doc.customer_name}"))
    rows += [Row("Order total", doc.total), Row("Paid so far", doc.paid)]
    if doc.returned:
        rows.append(Row("Brought back", doc.returned))
    rows += plan_rows(doc)[2:]  # the heading is printed above already
    rows += [Row(style=RULE), Row(doc.reference, style=BARCODE)]
    return rows


def render_schedule(doc: ScheduleDocument, paper_mm: int = 80) -> bytes:
    from printing.escpos_output import render_rows

    return render_rows(schedule_rows(doc), paper_mm)


def write_schedule_pdf(doc: ScheduleDocument, path: Path) -> Path:
    """The schedule as an 80 mm PDF, drawn like the receipt PDF."""
    from printing.pdf_output import write_slip_pdf

    return write_slip_pdf(schedule_rows(doc), path, f"Payment schedule {doc.reference}", doc.store.name)


def with_plan(receipt: list[Row], doc: ScheduleDocument | None) -> list[Row]:
    """A plan sale's receipt rows with the schedule inserted above the reference barcode."""
    if doc is None:
        return receipt
    at = next((i for i, r in enumerate(receipt) if r.style == BARCODE), len(receipt))
    if at and receipt[at - 1].style == RULE:
        at -= 1
    return receipt[:at] + plan_rows(doc) + receipt[at:]


def schedule_or_none(store: LocalStore, order_id: str) -> ScheduleDocument | None:
    try:
        return build_schedule(store, order_id)
    except ReceiptError:
        return None


def rows_text(rows: list[Row], width: int) -> str:
    """Plain text of any rows as the on-screen preview shows them (cf. layout.receipt_text)."""
    from printing.layout import center, format_row

    out: list[str] = []
    for row in rows:
        if row.style == BIG:
            out += center(row.left, width)
        elif row.style == BARCODE:
            out += center(f"|||| {row.left} ||||", width)
        else:
            out += format_row(row, width)
    return "\n".join(out) + "\n"
