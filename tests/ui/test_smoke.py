from __future__ import annotations

import logging

from ui.main import run_app


def test_smoke_run_app_shows_sign_in_and_exits_zero(store, qapp):
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        assert run_app(store, smoke=True) == 0
    finally:
        # run_app sets up the app's logging (basicConfig: a handler on this test's
        # captured stderr); left behind, later tests' log lines met a closed file
        for handler in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(handler)
        root.setLevel(level)


def test_sign_in_screen_lists_staff(desktop, qtbot):
    screen = desktop.window.signin
    qtbot.waitUntil(lambda: len(screen._buttons) == 4, timeout=5000)
    assert desktop.window.root.currentWidget() is screen


def test_closing_the_desktop_frees_its_widgets(store, qapp, qtbot):
    """A closed window must not linger: every later window would re-polish its widgets."""
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    from ui.main import Desktop

    before = len(QApplication.allWidgets())
    d = Desktop(store, qapp)
    d.window.show()
    qtbot.waitExposed(d.window)
    qtbot.waitUntil(lambda: "register" in d.window.screens, timeout=5000)  # built after the paint
    assert len(QApplication.allWidgets()) > before + 100
    d.close()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert len(QApplication.allWidgets()) == before
