"""Issue 21, defect 1: a receipt that cannot print says so; the demo prints on screen;
the print queue screen lists jobs and retries or cancels them; the status bar shows
the printer."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from tests.ui.conftest import settle, sign_in
from tests.ui.test_register_e2e import _scan_three_and_pay_cash

pytest.importorskip("printing.service")


def _screen_printer(desktop, folder) -> None:
    from printing.connections import PrinterConfig

    desktop.ctx.printing.save_printer(PrinterConfig(name="Screen", connection="screen", address=str(folder),
                                                    default=True))


def test_a_receipt_with_no_printer_says_so_as_an_error(desktop, qtbot):
    sign_in(desktop, qtbot)
    sale, _total = _scan_three_and_pay_cash(desktop, qtbot)
    notice = desktop.window.notice
    qtbot.waitUntil(lambda: "no printer" in notice.text.lower(), timeout=10_000)
    assert notice.level == "error"
    assert sale.reference in notice.text
    bar = desktop.window.status
    qtbot.waitUntil(lambda: "1 failed" in bar.printer.text(), timeout=5000)


def test_the_screen_printer_shows_the_slip_and_keeps_the_pdf(desktop, qtbot, tmp_path):
    _screen_printer(desktop, tmp_path / "slips")
    sign_in(desktop, qtbot)
    sale, _total = _scan_three_and_pay_cash(desktop, qtbot)
    window = desktop.window
    qtbot.waitUntil(lambda: window.slip is not None and window.slip.isVisible(), timeout=15_000)
    assert sale.reference in window.slip.text.toPlainText()
    assert "TOTAL" in window.slip.text.toPlainText().upper()
    pdfs = list((tmp_path / "slips").glob("*.pdf"))
    assert len(pdfs) == 1 and pdfs[0].read_bytes().startswith(b"%PDF")
    assert str(pdfs[0]) in window.slip.where.text()
    assert QApplication.focusWidget() is window.register.scan  # the slip never takes the keyboard
    assert "Screen" in window.status.printer.text()


def test_the_print_queue_lists_a_failed_job_and_retries_it(desktop, qtbot, tmp_path):
    sign_in(desktop, qtbot, "1002", "222222")
    sale, _total = _scan_three_and_pay_cash(desktop, qtbot)
    bar = desktop.window.status
    qtbot.waitUntil(lambda: "1 failed" in bar.printer.text(), timeout=10_000)
    qtbot.mouseClick(bar.printer, Qt.MouseButton.LeftButton)  # the indicator opens the queue
    screen = desktop.window.print_queue
    qtbot.waitUntil(lambda: screen.isVisible() and screen.table.rowCount() >= 1, timeout=5000)
    row = next(r for r in range(screen.table.rowCount()) if sale.reference in screen.row_text(r))
    assert "failed" in screen.row_text(row) and "no printer" in screen.row_text(row).lower()
    _screen_printer(desktop, tmp_path / "slips")
    screen.table.selectRow(row)
    qtbot.mouseClick(screen.retry_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: any(sale.reference in screen.row_text(r) and "printed" in screen.row_text(r)
                                for r in range(screen.table.rowCount())), timeout=15_000)
    qtbot.waitUntil(lambda: "failed" not in bar.printer.text(), timeout=5000)


def test_the_print_queue_cancels_a_failed_job(desktop, qtbot):
    sign_in(desktop, qtbot, "1002", "222222")
    sale, _total = _scan_three_and_pay_cash(desktop, qtbot)
    desktop.window.show_screen("print_queue")
    screen = desktop.window.print_queue
    qtbot.waitUntil(lambda: screen.table.rowCount() >= 1, timeout=5000)
    screen.table.selectRow(0)
    assert sale.reference in screen.row_text(0)
    qtbot.mouseClick(screen.cancel_button, Qt.MouseButton.LeftButton)
    settle(desktop, qtbot)
    qtbot.waitUntil(lambda: "was cancelled" in desktop.window.notice.text, timeout=5000)
    qtbot.waitUntil(lambda: screen.stack.currentWidget() is screen.empty, timeout=5000)
    assert desktop.ctx.printing.jobs() == []


def test_the_demo_has_a_printer_that_needs_no_hardware(store):
    from printing.service import PrintService
    from ui.demo_launch import ensure_demo_printer

    service = PrintService(store)
    ensure_demo_printer(service, store.data_dir)
    ensure_demo_printer(service, store.data_dir)  # once only
    [printer] = service.printers()
    assert printer.connection == "screen" and printer.default


def test_a_desktop_closed_before_printing_loaded_never_listens_for_slips(store, qapp, qtbot):
    """Closed within its warm-up, a desktop must not register its (freed) window for slips
    later: the next window's screen printer jobs failed on that dead listener."""
    from PySide6.QtCore import QEvent

    from printing import screen_printer
    from ui.main import WARM_UP_MS, Desktop

    before = list(screen_printer._listeners)
    d = Desktop(store, qapp)
    d.close()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    qtbot.wait(WARM_UP_MS + 200)
    d.ops.wait_idle()
    assert screen_printer._listeners == before


def test_a_failing_slip_listener_neither_fails_the_print_nor_starves_the_others(tmp_path):
    from printing import screen_printer

    def broken(_path, _text):
        raise RuntimeError("Internal C++ object (SlipRelay) already deleted.")

    seen: list[str] = []

    def shown(_path, text):
        seen.append(text)

    screen_printer.add_listener(broken)
    screen_printer.add_listener(shown)
    try:
        screen_printer.ScreenConnection(str(tmp_path)).send(b"TOTAL 12.00\n", 5.0)
    finally:
        screen_printer.remove_listener(broken)
        screen_printer.remove_listener(shown)
    assert seen and "TOTAL 12.00" in seen[0]
    assert len(list(tmp_path.glob("*.pdf"))) == 1
