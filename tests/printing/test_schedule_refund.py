"""Payment schedules (ESC/POS and PDF) and refund receipts through the print queue."""

from __future__ import annotations

import subprocess
from datetime import date

import pytest

from app.domain.cart import Cart
from app.domain.schedule import Interval, down_payment_amount, make_plan
from app.domain.tender import Method, Tender
from app.services import approvals, catalog, sales, staff
from app.services.customers import CustomerDetails
from printing.escpos_output import render_receipt
from printing.receipt import ReceiptError
from printing.refund_receipt import build_refund_receipt, latest_refund_id
from printing.schedule import build_schedule, render_schedule
from printing.service import PrintService
from tests.printing.conftest import CODES


def _plan_sale(store, start: date = date(2026, 1, 31)) -> tuple[sales.SaleResult, object]:
    cashier = staff.sign_in(store, "1003", "3333")
    cart = Cart(tax_inclusive=True)
    for code in CODES:
        cart.add(catalog.line_for_scan(store, code))
    total = cart.totals().total
    plan = make_plan(total, down_payment_amount(total, percent_ppm=300_000), 3, start, Interval.MONTHLY)
    sale = sales.record_sale(store, cashier, cart, [Tender(Method.CASH, plan.down_payment)],
                             CustomerDetails(None, "Ann Plan", "+353 1 234 5678"), plan=plan)
    return sale, plan


def _text(payload: bytes) -> str:
    return payload.decode("cp437", errors="replace")


@pytest.mark.parametrize("paper", [58, 80])
def test_schedule_escpos_shows_every_due_date_and_amount(store, paper):
    sale, plan = _plan_sale(store)
    doc = build_schedule(store, sale.order_id, today=date(2026, 3, 5))
    text = _text(render_schedule(doc, paper))
    assert "PAYMENT SCHEDULE" in text and sale.reference in text
    # Jan 31 + 1 month is Feb 28 (clamped), then Mar 31, Apr 30.
    for inst, due in zip(plan.installments, ["28/02/2026", "31/03/2026", "30/04/2026"], strict=True):
        assert due in text
        assert f"{inst.amount / 100:.2f}" in text
    assert "! overdue" in text and "28/02/2026 !" in text  # installment 1 is late on 5 March
    width = 32 if paper == 58 else 48
    lines = [x for x in text.split("\n") if x and "\x1b" not in x and "\x1d" not in x]
    assert all(len(x) <= width for x in lines)


def test_schedule_pdf_text(store, tmp_path):
    sale, plan = _plan_sale(store)
    path = PrintService(store).schedule_pdf(sale.order_id, tmp_path / "schedule.pdf")
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "PAYMENT SCHEDULE" in text and sale.reference in text
    for inst in plan.installments:
        assert inst.due_date.strftime("%d/%m/%Y") in text
        assert f"{inst.amount / 100:.2f}" in text
    assert f"{plan.down_payment / 100:.2f}" in text


def test_plan_sale_receipt_ends_with_its_schedule_and_schedule_job_queues(store):
    sale, plan = _plan_sale(store)
    service = PrintService(store)
    preview = service.preview_text(sale.order_id)
    assert "PAYMENT SCHEDULE" in preview and "BALANCE DUE" in preview
    assert preview.index("PAYMENT SCHEDULE") < preview.index(f"|||| {sale.reference}")
    job = service.enqueue_schedule(sale.order_id)
    (view,) = [j for j in service.jobs() if j.id == job]
    assert view.kind == "schedule" and view.reference == sale.reference
    assert view.status == "failed" and "no printer" in view.last_error  # kept until a printer exists


def test_order_without_plan_has_no_schedule(store, cash_sale):
    with pytest.raises(ReceiptError):
        build_schedule(store, cash_sale.order_id)
    assert "PAYMENT SCHEDULE" not in PrintService(store).preview_text(cash_sale.order_id)


def test_refund_receipt_shows_refund_lines_amount_and_method(store, tcp_printer):
    from printing.connections import PrinterConfig

    cashier, manager = staff.sign_in(store, "1003", "3333"), staff.sign_in(store, "1002", "222222")
    cart = Cart(tax_inclusive=True)
    for code in CODES:
        cart.add(catalog.line_for_scan(store, code))
    card_sale = sales.record_sale(store, cashier, cart, [Tender(Method.CARD, cart.totals().total)])
    detail_lines = catalog_lines(store, card_sale.order_id)
    line_id, name = detail_lines[0]
    approvals.refund_with_override(store, cashier, manager, card_sale.order_id,
                                   [approvals.RefundItem(line_id, 1000)], "damaged", method="cash")
    refund_id = latest_refund_id(store, card_sale.order_id)
    doc = build_refund_receipt(store, refund_id)
    assert doc.kind == "refund" and doc.title == "REFUND"
    assert [li.name for li in doc.lines] == [name]
    assert doc.tenders[0].method == "Refund (Cash)"
    amount = doc.total.lstrip("-€ ")  # the euro sign is in the printer's code page
    text = _text(render_receipt(doc, 80))
    assert "*** REFUND ***" in text and "Refund (Cash)" in text and amount in text
    assert "Reason: damaged" in text
    service = PrintService(store)
    service.save_printer(PrinterConfig("Front", "network", "127.0.0.1", port=tcp_printer.port,
                                       default=True))
    service.enqueue_latest_refund(card_sale.order_id)
    outcomes = service.process_pending(timeout_s=5)
    assert [o.ok for o in outcomes] == [True]
    (printed,) = tcp_printer.wait_for(1)
    assert b"REFUND" in printed and amount.encode() in printed


def catalog_lines(store, order_id: str) -> list[tuple[str, str]]:
    from app.services.order_detail import order_detail

    return [(li.id, li.name) for li in order_detail(store, order_id).lines]
