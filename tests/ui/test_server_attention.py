"""The server's attention items on the dashboard (kept by the sync service): each says how
fresh it is and opens the screen where it is seen to (Settings > Sync health, Settings >
Journal)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from app.services import server_attention
from tests.ui.conftest import settle, sign_in

ANSWER = {
    "items": [
        {"key": "silent_terminals", "count": 1, "text": "1 till not heard from for over 1 h"},
        {"key": "journal", "count": 1,
         "text": "The server's journal check failed: entry 7: edited"},
        {"key": "webhooks_failing", "count": 2, "text": "2 webhook deliveries failing"},
    ],
    "silent_terminals": [{"terminal_id": "t-1", "name": "Back till",
                          "last_seen_at": "2026-12-03T08:00:00+00:00"}],
    "journal": {"state": "failing", "problem": "entry 7: edited", "position": 7,
                "checked_at": "2026-12-04T01:00:00+00:00"},
}


def test_server_items_open_their_screens(desktop, qtbot, store) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now().astimezone()
    midnight = now.replace(hour=0, minute=0, second=1, microsecond=0)
    # a few minutes ago, but today: a time of yesterday is shown with its date ('4 Dec 23:58')
    fetched = max(now - timedelta(minutes=3), midnight).astimezone(UTC)
    with store.db.write() as s:
        server_attention.save(s, ANSWER, fetched)
    sign_in(desktop, qtbot, "1001", "111111")
    window = desktop.window
    window.show_screen("dashboard")
    settle(desktop, qtbot, 150)
    panel = window.screens["dashboard"].attention
    qtbot.waitUntil(lambda: "server_journal" in panel.buttons, timeout=5000)
    assert "webhooks_failing" not in panel.buttons  # not the till's to show
    as_of = f"as of {fetched.astimezone():%H:%M}"
    settings = window.screens["settings"]
    for key, page in (("silent_terminals", settings.sync_health),
                      ("server_journal", settings.journal)):
        window.show_screen("dashboard")
        button = panel.findChild(QPushButton, f"attention_{key}")
        assert button is not None and as_of in button.text(), key
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        assert window.pages.currentWidget() is settings, key
        assert settings.tabs.currentWidget() is page, key
    window.show_screen("dashboard")
    qtbot.mouseClick(panel.buttons["silent_terminals"], Qt.MouseButton.LeftButton)
    settle(desktop, qtbot, 150)
    health = settings.sync_health
    qtbot.waitUntil(lambda: health.answer is not None, timeout=5000)
    assert health.silent.item(0).text().startswith("Back till: last heard from ")
    assert "entry 7: edited" in health.journal.text()
    assert as_of in health.as_of.text()
