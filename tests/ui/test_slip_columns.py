"""The screen printer's slip reads like the paper (helper K's walk, issue 21).

The app's style sheet gives every widget its sans-serif family ("* { font-family }"),
which beat the fixed-pitch font the slip window and the shift report set with setFont:
the receipt's amounts and the tax table's columns stood ragged, the slip needed a
horizontal scroll bar."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from tests.ui.conftest import settle, sign_in
from tests.ui.test_print_visible import _screen_printer
from tests.ui.test_register_e2e import _scan_three_and_pay_cash

pytest.importorskip("printing.service")


def _fixed_pitch(widget) -> bool:
    metrics = widget.fontMetrics()
    return metrics.horizontalAdvance("i" * 20) == metrics.horizontalAdvance("M" * 20)


def _amounts_line_up(text: str, widget) -> None:
    """The receipt pads its lines with spaces: in a fixed-pitch font lines of one length end
    at one x; the longest line fits the slip without scrolling sideways."""
    metrics = widget.fontMetrics()
    lines = [line for line in text.splitlines() if line.strip()]
    width = max(len(line) for line in lines)
    ends = {metrics.horizontalAdvance(line) for line in lines if len(line) == width}
    assert len(ends) == 1, ends
    assert not widget.horizontalScrollBar().isVisible()


@pytest.mark.parametrize("width", (1024, 1366))
def test_the_slips_columns_line_up(desktop, qtbot, tmp_path, width):
    _screen_printer(desktop, tmp_path / "slips")
    desktop.window.resize(width, 768 - 32)
    sign_in(desktop, qtbot)
    sale, _total = _scan_three_and_pay_cash(desktop, qtbot)
    window = desktop.window
    qtbot.waitUntil(lambda: window.slip is not None and window.slip.isVisible(), timeout=15_000)
    QApplication.processEvents()
    window.slip.grab().save(str(tmp_path / f"slip-{width}.png"))
    slip = window.slip.text
    assert sale.reference in slip.toPlainText()
    assert _fixed_pitch(slip), slip.font().family()
    _amounts_line_up(slip.toPlainText(), slip)
    assert QApplication.focusWidget() is window.register.scan  # still the cashier's keys


def test_the_shift_report_keeps_the_printers_columns(desktop, qtbot, store):
    from app.services import shifts, staff
    from tests.ui.keys import press

    manager = staff.sign_in(store, "1002", "222222")
    shifts.open_shift(store, manager, 10_000)
    sign_in(desktop, qtbot, "1002", "222222")
    desktop.window.show_screen("shift")
    screen = desktop.window.shift
    settle(desktop, qtbot, 80)
    qtbot.waitUntil(lambda: screen.current is not None, timeout=3000)
    screen.moves.setFocus()
    press(screen.moves, Qt.Key.Key_F7)  # the X report
    qtbot.waitUntil(lambda: "X REPORT" in screen.report.toPlainText().upper(), timeout=3000)
    assert _fixed_pitch(screen.report), screen.report.font().family()


def test_the_next_sales_first_scan_tears_off_the_slip(desktop, qtbot, store, tmp_path):
    """At 1024x768 the slip stayed over the totals and the sale banner through the next
    sale: only a mouse could close it (it never takes the keyboard)."""
    from tests.ui.conftest import barcodes, wedge_burst

    _screen_printer(desktop, tmp_path / "slips")
    desktop.window.resize(1024, 768 - 32)
    sign_in(desktop, qtbot)
    _scan_three_and_pay_cash(desktop, qtbot)
    window = desktop.window
    qtbot.waitUntil(lambda: window.slip is not None and window.slip.isVisible(), timeout=15_000)
    register = window.register
    qtbot.waitUntil(lambda: QApplication.focusWidget() is register.scan, timeout=3000)
    wedge_burst(barcodes(store, 1)[0][0])  # the next customer's first item
    qtbot.waitUntil(lambda: len(register.cart.lines) == 1, timeout=5000)
    assert not window.slip.isVisible()
