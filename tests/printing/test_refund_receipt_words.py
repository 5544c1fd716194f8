"""The refund receipt says why its total is less than its lines, and who did what.

Helper K, demo store: a plan's order of tea €7.94 and dog food €11.24, €5.75 down; the
cashier refunds the tea, a manager approves by PIN. The refund is capped at the €5.75
collected: the line reads -€7.94, the TOTAL -€5.75, and the receipt says "Refund limited
to what was paid: €5.75". The cashier is the one who did the refund (Cass Cashier), the
manager is named as the approver ("Approved by: Max Manager"). Checked on the text
preview, the ESC/POS bytes and the PDF (pdftotext)."""

from __future__ import annotations

import subprocess
from datetime import date
from pathlib import Path

from app.domain.cart import Cart, CartLine
from app.domain.schedule import Interval, make_plan
from app.domain.tender import Method, Tender
from app.services import approvals, sales, staff
from app.services.customers import CustomerDetails
from app.services.order_detail import order_detail
from printing.escpos_output import render_receipt
from printing.layout import receipt_text
from printing.pdf_output import write_receipt_pdf
from printing.refund_receipt import build_refund_receipt, latest_refund_id
from printing.schedule import build_schedule, rows_text, schedule_rows


def _item(name: str, price: int) -> CartLine:
    return CartLine(product_id=None, sku=None, name=name, unit_price=price,
                    tax_rate_ppm=230_000, qty_milli=1000)


def _refund_tea(store, *, paid_in_full: bool):  # type: ignore[no-untyped-def]
    cashier, manager = staff.sign_in(store, "1003", "3333"), staff.sign_in(store, "1002", "222222")
    cart = Cart(tax_inclusive=True)
    cart.add(_item("Green Tea", 794))
    cart.add(_item("Dog Food", 1124))
    if paid_in_full:
        sale = sales.record_sale(store, cashier, cart, [Tender(Method.CASH, 1918)])
    else:
        plan = make_plan(1918, 575, 3, date(2027, 1, 31), Interval.MONTHLY)
        sale = sales.record_sale(store, cashier, cart, [Tender(Method.CASH, 575)],
                                 CustomerDetails(None, "Dana Doyle", "+353 87 111 2233"), plan=plan)
    tea = next(li.id for li in order_detail(store, sale.order_id).lines if li.name == "Green Tea")
    approvals.refund_with_override(store, cashier, manager, sale.order_id,
                                   [approvals.RefundItem(tea, 1000)], "changed their mind")
    return build_refund_receipt(store, latest_refund_id(store, sale.order_id)), cashier, manager


def test_a_capped_refund_says_why_and_names_cashier_and_approver(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    doc, cashier, manager = _refund_tea(store, paid_in_full=False)
    text = receipt_text(doc)
    assert "-€7.94" in text and "-€5.75" in text
    assert "Refund limited to what was paid: €5.75" in text
    assert f"Cashier: {cashier.name}" in text and f"Approved by: {manager.name}" in text
    assert f"Cashier: {manager.name}" not in text
    printed = render_receipt(doc, 58).decode("cp437", errors="replace")
    assert "Refund limited to what was paid" in " ".join(printed.split())
    assert f"Approved by: {manager.name}" in printed
    pdf = write_receipt_pdf(doc, tmp_path / "refund.pdf")
    words = " ".join(subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                                    text=True, check=True).stdout.split())
    assert "Refund limited to what was paid: €5.75" in words
    assert f"Cashier: {cashier.name}" in words and f"Approved by: {manager.name}" in words


def test_a_refund_of_the_goods_value_needs_no_word(store) -> None:  # type: ignore[no-untyped-def]
    doc, cashier, manager = _refund_tea(store, paid_in_full=True)
    text = receipt_text(doc)
    assert "-€7.94" in text and "limited" not in text
    assert f"Cashier: {cashier.name}" in text and f"Approved by: {manager.name}" in text


def test_the_plans_schedule_adds_up_after_the_tea_came_back(store) -> None:  # type: ignore[no-untyped-def]
    """Order total €19.18, paid so far €0.00, brought back -€7.94, balance €11.24 (was
    €13.43 with nothing saying why)."""
    doc, _, _ = _refund_tea(store, paid_in_full=False)
    order_id = next(o for o in _orders_of(store, doc.reference))
    text = rows_text(schedule_rows(build_schedule(store, order_id)), 42)
    flat = [" ".join(line.split()) for line in text.splitlines()]
    assert "Order total €19.18" in flat and "Paid so far €0.00" in flat
    assert "Brought back -€7.94" in flat and "Balance €11.24" in flat


def _orders_of(store, reference: str) -> list[str]:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from app.store.models import Order

    with store.db.read() as s:
        return list(s.scalars(select(Order.id).where(Order.reference == reference)))
