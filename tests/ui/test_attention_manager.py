"""A manager clicking the server's attention items (silent tills, the server's journal)
sees the pages read-only in a dialog: Settings, where they live, is the owner's and
admin's (issue 15). Set TILLSYNC_WRITE_SCREENSHOTS=1 to write
docs/screenshots/attention-manager-health-<w>x<h>.png."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QPainter

from app.services import server_attention
from tests.ui.conftest import settle, sign_in
from tests.ui.test_dashboard import shots
from tests.ui.test_server_attention import ANSWER


def test_a_manager_clicking_a_server_item_sees_the_page(desktop, qtbot, store,
                                                        tmp_path: Path) -> None:
    fetched = datetime.now(UTC) - timedelta(minutes=3)
    with store.db.write() as s:
        server_attention.save(s, ANSWER, fetched)
    sign_in(desktop, qtbot, "1002", "222222")  # the manager
    window = desktop.window
    assert not window.nav_buttons["settings"].isVisible()
    window.show_screen("dashboard")
    settle(desktop, qtbot, 150)
    panel = window.screens["dashboard"].attention
    qtbot.waitUntil(lambda: "server_journal" in panel.buttons, timeout=5000)
    qtbot.mouseClick(panel.buttons["silent_terminals"], Qt.MouseButton.LeftButton)
    dialog = panel.health
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible, timeout=3000)
    assert "settings" not in window.screens  # never built for a manager
    health = dialog.sync_health
    assert dialog.tabs.currentWidget() is health
    qtbot.waitUntil(lambda: health.answer is not None, timeout=5000)
    assert health.silent.item(0).text().startswith("Back till: last heard from ")
    assert "entry 7: edited" in health.journal.text()
    for w, h in ((1024, 768), (1366, 768)):
        window.resize(w, h)
        settle(desktop, qtbot, 100)
        dialog.resize(min(720, w - 80), min(520, h - 80))
        settle(desktop, qtbot, 100)
        picture = window.grab()
        painter = QPainter(picture)  # the dialog over the window, as a person sees it
        painter.drawPixmap((w - dialog.width()) // 2, (h - dialog.height()) // 2, dialog.grab())
        painter.end()
        picture.save(str(shots(tmp_path) / f"attention-manager-health-{w}x{h}.png"))
    dialog.reject()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=3000)
    qtbot.mouseClick(panel.buttons["server_journal"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(dialog.isVisible, timeout=3000)
    journal = dialog.journal
    assert dialog.tabs.currentWidget() is journal
    qtbot.waitUntil(lambda: journal.report is not None, timeout=10_000)
    assert journal.report.ok and journal.verdict.text()
    dialog.reject()
