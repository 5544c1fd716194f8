"""A full disk reaches the cashier in words, with the cart kept, through the till's one
error path; a nearly full disk is in the status bar. Real Qt widgets offscreen over a
store on a real small disk (a tmpfs), filled to the last byte."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from PySide6.QtCore import QEvent, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app import demo
from app.store.local import open_store
from tests.diskfull import fill, small_disk
from tests.ui.conftest import barcodes, settle, sign_in, wedge_burst
from ui.receipts import print_receipt

SHOTS = Path("/tmp/tillsync-shots")


def _truncate_wals(data: Path) -> None:
    """Copy every write-ahead log into its database and cut it to nothing, so the next
    write has to find new space on the disk (as on a till that ran a while)."""
    for db in data.glob("*.sqlite"):
        conn = sqlite3.connect(db)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()


def _pay(register) -> None:
    register.pay()
    QTest.keyClick(register.tender_dialog.amount, Qt.Key.Key_Return)
    QTest.keyClick(register.tender_dialog.amount, Qt.Key.Key_Return)


def test_full_disk_says_so_and_keeps_the_cart(qapp, qtbot, tmp_path: Path) -> None:
    from ui.main import Desktop, application

    with small_disk(tmp_path / "disk", 32) as disk:
        store = open_store(disk / "till", passphrase="x")
        demo.seed(store, 300)
        application()
        d = Desktop(store, qapp)
        try:
            d.window.resize(1280, 800)
            d.window.show()
            qtbot.waitExposed(d.window)
            d.window.activateWindow()
            sign_in(d, qtbot)
            register, window = d.window.register, d.window
            (code, name), (code2, _) = barcodes(store, 2)
            wedge_burst(code)
            settle(d, qtbot)
            _pay(register)  # one sale while there is room
            qtbot.waitUntil(lambda: register.last_sale is not None, timeout=10_000)
            first = register.last_sale
            settle(d, qtbot, 300)

            wedge_burst(code2)
            settle(d, qtbot)
            qtbot.waitUntil(lambda: len(register.cart.lines) == 1, timeout=5000)
            _truncate_wals(disk / "till")
            filler = fill(disk)
            _pay(register)
            settle(d, qtbot, 200)
            qtbot.waitUntil(lambda: "disk of this till is full" in window.notice.text, timeout=10_000)
            text = window.notice.text
            assert text.startswith(f"The disk of this till is full ({disk / 'till'})")
            assert "The sale on the screen is kept" in text and "support person" in text
            assert "Something went wrong" not in text
            assert window.notice.property("level") == "error"
            assert register.last_sale is first  # not recorded
            assert len(register.cart.lines) == 1  # the cart is kept, as it was
            assert not [w for w in QApplication.topLevelWidgets()  # no crash dialog
                        if w.isVisible() and w.windowTitle() == "Error"]
            window.status.refresh()
            settle(d, qtbot)
            assert window.status.disk.isVisible()
            assert "nearly full" in window.status.disk.text()
            SHOTS.mkdir(exist_ok=True)
            window.grab().save(str(SHOTS / "disk_full.png"))

            print_receipt(d.ctx, first.order_id, reprint=True)  # the print queue is full too
            settle(d, qtbot, 200)
            qtbot.waitUntil(lambda: "reprint its receipt" in window.notice.text, timeout=10_000)
            assert window.notice.text.startswith("The disk of this till is full")
            assert "The sale is saved" in window.notice.text

            filler.unlink()  # space freed: the same cart completes
            _pay(register)
            qtbot.waitUntil(lambda: register.last_sale is not first, timeout=10_000)
            assert register.cart.is_empty
            settle(d, qtbot, 300)
        finally:
            d.close()
            QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
            store.close()


def test_the_command_line_warns_and_refuses_in_words(tmp_path: Path, capsys) -> None:
    """``tillsync status`` shows the warning; a command that meets a full disk says so
    (exit 2), never a traceback."""
    from ui.cli import main

    with small_disk(tmp_path / "disk", 16) as disk:
        data = disk / "till"
        open_store(data, passphrase="x").close()
        assert main(["--data-dir", str(data), "status"]) == 0
        out = capsys.readouterr().out
        assert "The disk of this till is nearly full" in out and "Sales go on" in out
        _truncate_wals(data)
        filler = fill(disk)
        assert main(["--data-dir", str(data), "demo", "--products", "200"]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"tillsync: The disk of this till is full ({data})")
        assert "Traceback" not in err
        filler.unlink()
