"""The owner sees the journal's check in Settings > Journal: holds on a fresh demo till,
and names the entry once the audit file was edited behind the till's back."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from PySide6.QtCore import Qt

from tests.ui.conftest import settle, sign_in

SHOTS = Path("/tmp/journal_shots")


def test_owner_sees_the_journal_check(desktop, qtbot, store) -> None:  # type: ignore[no-untyped-def]
    sign_in(desktop, qtbot, "1001", "111111")
    desktop.window.show_screen("settings")
    settings = desktop.window.screens["settings"]
    settings.tabs.setCurrentWidget(settings.journal)
    settle(desktop, qtbot, 150)
    page = settings.journal
    assert page.report is not None and page.report.ok
    assert "The journal holds" in page.verdict.text()
    assert not page.server_line.isVisible()  # not enrolled: nothing to ask the server
    conn = sqlite3.connect(store.db.path)
    conn.execute("DROP TRIGGER audit_log_no_update")
    conn.execute("UPDATE audit_log SET reason = 'nothing to see' WHERE seq = 1")
    conn.commit()
    conn.close()
    qtbot.mouseClick(page.check_button, Qt.MouseButton.LeftButton)
    settle(desktop, qtbot, 150)
    assert page.report is not None and not page.report.ok
    assert "entry 1: edited" in page.verdict.text()
    assert page.advice.isVisible()
    SHOTS.mkdir(exist_ok=True)
    desktop.window.grab().save(str(SHOTS / "journal-page.png"))
