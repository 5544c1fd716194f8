"""The wedge scanner: bursts are scans wherever focus is, human typing still arrives."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.domain.barcode import with_check_digit
from tests.ui.conftest import barcodes, settle, sign_in, wedge_burst
from ui.config import ScannerConfig, load_scanner, save_scanner
from ui.scanner import SerialScanner


def test_human_typing_is_not_a_scan(desktop, qtbot):
    sign_in(desktop, qtbot)
    register = desktop.window.register
    scans: list[str] = []
    desktop.wedge.scanned.connect(scans.append)
    code, _name = barcodes(desktop.ctx.store, 1)[0]
    QTest.keyClicks(QApplication.focusWidget(), code, Qt.KeyboardModifier.NoModifier, 90)
    qtbot.wait(80)
    assert scans == []
    assert register.scan.text() == code  # every key reached the field, in order
    QTest.keyClick(register.scan, Qt.Key.Key_Return)  # typed barcode + Enter still adds it
    settle(desktop, qtbot)
    qtbot.waitUntil(lambda: len(register.cart.lines) == 1, timeout=5000)


def test_scan_reaches_register_even_with_focus_elsewhere(desktop, qtbot):
    sign_in(desktop, qtbot)
    register = desktop.window.register
    register.table.setFocus()
    code, name = barcodes(desktop.ctx.store, 1)[0]
    wedge_burst(code)
    settle(desktop, qtbot)
    qtbot.waitUntil(lambda: len(register.cart.lines) == 1, timeout=5000)
    assert register.cart.lines[0].name == name


def test_bad_check_digit_is_explained(desktop, qtbot):
    sign_in(desktop, qtbot)
    good = with_check_digit("400000000001")
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    wedge_burst(bad)
    settle(desktop, qtbot)
    qtbot.waitUntil(lambda: "wrong check digit" in desktop.window.notice.text, timeout=5000)
    assert desktop.window.register.cart.is_empty


def test_unknown_barcode_message_and_quick_add_offer(desktop, qtbot):
    sign_in(desktop, qtbot, "1003", "3333")  # a cashier: message only
    unknown = with_check_digit("999999999999")
    wedge_burst(unknown)
    settle(desktop, qtbot)
    qtbot.waitUntil(lambda: f"No product has barcode {unknown}" in desktop.window.notice.text)
    assert getattr(desktop.window.register, "quick_add_dialog", None) is None
    desktop.window.switch_user()
    sign_in(desktop, qtbot, "1002", "222222")  # a manager may quick-add
    wedge_burst(unknown)
    settle(desktop, qtbot)
    qtbot.waitUntil(lambda: getattr(desktop.window.register, "quick_add_dialog", None) is not None,
                    timeout=10000)
    assert desktop.window.register.quick_add_dialog.isVisible()
    desktop.window.register.quick_add_dialog.reject()


def test_serial_scanner_splits_lines():
    scanner = SerialScanner()
    got: list[str] = []
    scanner.scanned.connect(got.append)
    scanner.feed(b"4000000000")
    scanner.feed(b"017\r\nGO-AB")
    scanner.feed(b"C123\n")
    assert got == ["4000000000017", "GO-ABC123"]


def test_scanner_settings_persist(tmp_path):
    assert load_scanner(tmp_path) == ScannerConfig()
    save_scanner(tmp_path, ScannerConfig(max_interval_ms=45, prefix="]", serial_port="/dev/ttyACM0"))
    loaded = load_scanner(tmp_path)
    assert (loaded.max_interval_ms, loaded.prefix, loaded.serial_port) == (45, "]", "/dev/ttyACM0")
    (tmp_path / "scanner.json").write_text("{not json")
    assert load_scanner(tmp_path) == ScannerConfig()


def test_prefix_and_suffix_are_stripped(desktop, qtbot):
    desktop.wedge.set_config(ScannerConfig(prefix="]E0", suffix="#"))
    sign_in(desktop, qtbot)
    scans: list[str] = []
    desktop.wedge.scanned.connect(scans.append)
    code, _name = barcodes(desktop.ctx.store, 1)[0]
    wedge_burst(f"]E0{code}#")
    settle(desktop, qtbot)
    assert scans == [code]
