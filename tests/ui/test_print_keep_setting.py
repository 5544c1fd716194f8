"""Printer settings: how long printed receipts stay in the print queue, typed with real
key events; a shorter time is saved in the queue file and prunes older printed jobs at
once (printed jobs name customers)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.domain.demo_catalog import DEMO_STAFF
from app.domain.permissions import Role
from tests.ui.conftest import settle, sign_in


def _age(queue_path, job_id: str, days: float) -> None:
    when = (datetime.now(UTC) - timedelta(days=days)).isoformat()
    conn = sqlite3.connect(queue_path)
    with conn:
        conn.execute("UPDATE jobs SET updated_at = ?, created_at = ? WHERE id = ?", (when, when, job_id))
    conn.close()


def test_keep_printed_days_typed_in_settings_prunes_at_once(desktop, qtbot) -> None:
    name, code, _role, pin = next(s for s in DEMO_STAFF if s[2] is Role.OWNER)
    sign_in(desktop, qtbot, code, pin)
    queue = desktop.ctx.printing.queue
    old = queue.add("Counter", "receipt", b"receipt 5 days old", status="done")
    new = queue.add("Counter", "receipt", b"receipt 1 day old", status="done")
    failed = queue.add("Counter", "receipt", b"failed 5 days ago", status="failed")
    for job, days in ((old, 5), (new, 1), (failed, 5)):
        _age(queue.path, job, days)

    desktop.window.show_screen("settings")
    page = desktop.window.settings.printers
    settle(desktop, qtbot)
    spin = page.keep_days
    qtbot.waitUntil(lambda: spin.value() == 7, timeout=5000)  # the default, read from the file
    assert spin.isEnabled() and spin.isVisible()

    qtbot.mouseClick(spin, Qt.MouseButton.LeftButton)
    spin.setFocus()
    QTest.keyClick(spin, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(spin, "3")
    QTest.keyClick(spin, Qt.Key.Key_Return)
    settle(desktop, qtbot)
    notice = desktop.window.notice
    qtbot.waitUntil(lambda: "kept 3 days" in notice.text, timeout=5000)
    assert "1 older printed job deleted" in notice.text
    assert queue.keep_printed() == timedelta(days=3)
    left = {j.id for j in queue.jobs()}
    assert old not in left and {new, failed} <= left  # failed jobs wait for someone

    spin.setValue(0)
    page.reload()  # shown again from the file, not from the field
    settle(desktop, qtbot)
    assert spin.value() == 3
