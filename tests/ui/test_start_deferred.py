"""Issue 17 (the desktop under load): what the sign-in screen does not need waits.

- printing (escpos, reportlab) loads after the window is shown, never while it is built;
- registering a slip listener never waits for a printing load in progress on a worker;
- only the sign-in screen and the register are built with the window; a screen is built
  the first time it is shown, and the badge screens at sign-in for whoever sees them.
"""

from __future__ import annotations

import threading

from app.services import staff
from tests.ui.conftest import settle, sign_in
from ui.context import LazyPrintService


def test_building_the_window_does_not_load_printing(qapp, qtbot, store):
    from ui.main import WARM_UP_MS, Desktop, application

    application()
    desktop = Desktop(store, qapp)
    try:
        desktop.ops.wait_idle()
        qtbot.wait(50)
        desktop.ops.wait_idle()
        assert desktop.ctx.printing.loaded is False  # the status bar's printer read loaded it
        assert desktop.window.status.printer.text() == "Printer: …"
        desktop.window.show()
        qtbot.wait(WARM_UP_MS + 100)
        qtbot.waitUntil(lambda: desktop.ctx.printing.loaded, timeout=15_000)
        desktop.ops.wait_idle()
        qtbot.waitUntil(lambda: desktop.window.status.printer.text() != "Printer: …", timeout=5000)
    finally:
        desktop.close()


def test_a_listener_is_added_without_waiting_for_a_load_in_progress(store):
    service = LazyPrintService(store)
    inside_load, release = threading.Event(), threading.Event()
    heard: list[str] = []

    def slow_hook() -> None:  # runs inside load(), holding it up until released
        inside_load.set()
        release.wait(10)
        heard.append("first")

    service.before_start(slow_hook)
    loader = threading.Thread(target=service.load)
    loader.start()
    assert inside_load.wait(10)
    adder = threading.Thread(target=lambda: service.before_start(lambda: heard.append("second")))
    adder.start()
    adder.join(5)
    try:
        assert not adder.is_alive(), "before_start waited for the load in progress"
        assert heard == ["second"]  # the load has begun: the hook runs at once
    finally:
        release.set()
        loader.join(30)
        adder.join(5)
    assert service.loaded and heard == ["second", "first"]


def test_screens_are_built_when_first_shown(desktop, qtbot):
    window = desktop.window
    assert set(window.screens) == {"register"}  # sign-in and the register only
    sign_in(desktop, qtbot)  # a cashier: no approvals or dashboard badge to count
    settle(desktop, qtbot)
    assert set(window.screens) == {"register"}
    window.show_screen("sales")
    assert "sales" in window.screens and window.pages.currentWidget() is window.sales
    window.show_screen("settings")  # not the cashier's: neither built nor shown
    assert "settings" not in window.screens and window.pages.currentWidget() is window.sales


def test_a_manager_signing_in_gets_the_badge_screens(desktop, qtbot, store):
    window = desktop.window
    window.on_signed_in(staff.sign_in(store, "1002", "222222"))
    assert {"approvals", "dashboard"} <= set(window.screens)
    assert "orders" not in window.screens
    window.show_screen("orders")
    assert window.pages.currentWidget() is window.orders_browser


def test_the_start_up_objects_are_frozen_out_of_collections(store, qtbot, monkeypatch):
    """Once the window is up, what is alive is frozen (ui/collector.py), so a full
    collection set off by a worker walks only what was made since."""
    import gc

    import ui.main as main_module

    monkeypatch.setattr(main_module, "SETTLE_MS", 50)
    gc.unfreeze()
    desktop = main_module.Desktop(store, main_module.application())
    try:
        desktop.window.show()
        qtbot.waitUntil(lambda: gc.get_freeze_count() > 0, timeout=5000)
    finally:
        desktop.close()
        gc.unfreeze()
