"""End to end: sign in, scan with a wedge scanner, pay cash, sale stored, receipt printed."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from sqlalchemy import select

from app.domain.money import format_plain
from app.store.models import Order, OutboxOperation
from tests.ui.conftest import barcodes, settle, sign_in, wedge_burst
from tests.ui.printer_server import FakePrinter

printing = pytest.importorskip("printing.service")


def _add_printer(desktop, port: int) -> None:
    from printing.connections import PrinterConfig

    desktop.ctx.printing.save_printer(PrinterConfig(
        name="Front till", connection="network", address="127.0.0.1", port=port,
        open_drawer=True, default=True))


def _scan_three_and_pay_cash(desktop, qtbot) -> tuple:
    register = desktop.window.register
    codes = barcodes(desktop.ctx.store, 3)
    for code, _name in codes:
        wedge_burst(code)
        settle(desktop, qtbot, 10)
    qtbot.waitUntil(lambda: len(register.cart.lines) == 3, timeout=5000)
    assert register.scan.text() == ""  # the scans never reached the focused field
    assert [li.name for li in register.cart.lines] == [name for _c, name in codes]
    total = register.cart.totals().total
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_F12)
    qtbot.waitUntil(lambda: register.tender_dialog is not None and register.tender_dialog.isVisible())
    dialog = register.tender_dialog
    QTest.keyClick(dialog.amount, Qt.Key.Key_Return)  # exact cash
    assert dialog.paid_in_full
    QTest.keyClick(dialog.amount, Qt.Key.Key_Return)  # complete
    qtbot.waitUntil(lambda: register.last_sale is not None, timeout=10_000)
    return register.last_sale, total


def _order_and_outbox(store, order_id: str):
    with store.db.read() as s:
        order = s.get(Order, order_id)
        ops = list(s.scalars(select(OutboxOperation).where(OutboxOperation.entity_id == order_id)))
        return order.reference, order.total, order.paid, [(o.type, o.status) for o in ops]


def test_wedge_scans_cash_sale_prints_receipt_on_network_printer(desktop, qtbot):
    printer = FakePrinter()
    try:
        _add_printer(desktop, printer.port)
        sign_in(desktop, qtbot, "1003", "3333")
        sale, total = _scan_three_and_pay_cash(desktop, qtbot)
        reference, stored_total, paid, ops = _order_and_outbox(desktop.ctx.store, sale.order_id)
        assert (reference, stored_total, paid) == (sale.reference, total, total)
        assert ("order.create", "pending") in ops
        qtbot.waitUntil(lambda: b"\x1dV" in printer.data, timeout=15_000)
        data = printer.data
        assert sale.reference.encode() in data
        assert format_plain(total).encode() in data
        assert b"\x1dV" in data  # GS V: the cut
        assert desktop.window.register.cart.is_empty
        assert sale.reference in desktop.window.register.sale_banner.text()
    finally:
        printer.stop()


def test_printer_down_sale_is_saved_and_job_waits(desktop, qtbot):
    printer = FakePrinter()
    port = printer.port
    printer.stop()  # nothing listens on the port any more
    _add_printer(desktop, port)
    sign_in(desktop, qtbot, "1003", "3333")
    sale, total = _scan_three_and_pay_cash(desktop, qtbot)
    reference, stored_total, _paid, ops = _order_and_outbox(desktop.ctx.store, sale.order_id)
    assert reference == sale.reference and stored_total == total
    assert ("order.create", "pending") in ops
    service = desktop.ctx.printing
    qtbot.waitUntil(lambda: any(j.order_id == sale.order_id and j.status in ("failed", "pending")
                                and j.last_error for j in service.jobs()), timeout=15_000)
    qtbot.waitUntil(lambda: "Front till" in desktop.window.notice.text, timeout=5000)
    assert "sale is saved" in desktop.window.notice.text
