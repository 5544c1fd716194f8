"""Issue 17 (the desktop under load): what the sign-in screen does not need waits.

- printing (escpos, reportlab) loads after the window is shown, never while it is built;
- registering a slip listener never waits for a printing load in progress on a worker;
- only the sign-in screen is built with the window; the register once the sign-in screen
  is painted with its staff (or at its first use), another screen the first time it is
  shown, and the badge screens at sign-in for whoever sees them;
- the sign-in screen's start (the smoke run) imports neither the register nor the other
  screens, printing, the sync client, the keyring (a key-file till) nor the sale services
  whose errors ui/ops.py knows (imported at the first error).
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
    qtbot.waitUntil(lambda: "register" in window.screens, timeout=5000)  # after the paint
    assert set(window.screens) == {"register"}
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


def test_the_register_is_built_after_the_sign_in_screen_is_painted(qapp, qtbot, store):
    from ui.main import Desktop, application

    application()
    desktop = Desktop(store, qapp)
    try:
        assert "register" not in desktop.window.screens  # not built with the window
        desktop.window.show()
        qtbot.waitUntil(lambda: "register" in desktop.window.screens, timeout=5000)
        assert desktop.window.signin._buttons  # the staff list came first
        assert desktop.window.pages.indexOf(desktop.window.register) >= 0
    finally:
        desktop.close()


def test_signing_in_before_the_register_is_built_builds_it(qapp, qtbot, store):
    from ui.main import Desktop, application

    application()
    desktop = Desktop(store, qapp)  # never shown: the deferred build never comes
    try:
        desktop.ops.wait_idle()
        assert "register" not in desktop.window.screens
        desktop.window.on_signed_in(staff.sign_in(store, "1003", "3333"))
        assert desktop.window.current_screen is desktop.window.register
        scans: list[str] = []
        desktop.window.register.handle_scan = scans.append
        desktop.window.route_scan("4006381333931")  # a scan reaches the register
        assert scans == ["4006381333931"]
    finally:
        desktop.close()


SMOKE = """
import sys
import ui.main
from ui.cli import main
ui.main.WARM_UP_MS = 60_000  # printing's own warm-up (300 ms after show) may land in a slow start
code = main(['--data-dir', sys.argv[1], 'run', '--smoke'])
heavy = ('ui.screens.register', 'ui.screens.settings', 'ui.screens.dashboard', 'sync.client',
         'httpx', 'reportlab', 'escpos', 'qasync', 'keyring', 'app.services.sales',
         'app.services.order_edits', 'sync.conflicts')
print(' '.join(name for name in heavy if name in sys.modules) or '-')
sys.exit(code)
"""


def test_the_sign_in_start_does_not_import_what_it_defers(tmp_path, no_keyring):
    """The smoke start (sign-in shown, staff loaded) of a key-file till, in a fresh process."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from app.store.local import open_store

    open_store(tmp_path / "till", passphrase="start-test-passphrase").close()
    env = {**os.environ, "TILLSYNC_KEY_PASSPHRASE": "start-test-passphrase", "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", SMOKE, str(tmp_path / "till")], capture_output=True,
                          text=True, timeout=120, env=env, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-1] == "-", f"imported at sign-in: {done.stdout.strip()}"


def test_user_errors_are_known_without_importing_them_first():
    from app.services.sales import SaleError
    from ui.ops import is_user_error

    assert is_user_error(SaleError("no")) and not is_user_error(RuntimeError("bug"))
