from __future__ import annotations

from ui.main import run_app


def test_smoke_run_app_shows_sign_in_and_exits_zero(store, qapp):
    assert run_app(store, smoke=True) == 0


def test_sign_in_screen_lists_staff(desktop, qtbot):
    screen = desktop.window.signin
    qtbot.waitUntil(lambda: len(screen._buttons) == 4, timeout=5000)
    assert desktop.window.root.currentWidget() is screen
