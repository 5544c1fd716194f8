"""The one place that wires the store, the services, the event loop and the window."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from app.services.changes import Changes
from app.store.local import LocalStore
from ui.collector import GuiThreadCollector, settle
from ui.context import AppContext, load_print_service
from ui.ops import Ops
from ui.scanner import SerialScanner, WedgeScanner
from ui.widgets.common import RESOURCES, icon
from ui.widgets.dialog_focus import DialogFocus
from ui.window import MainWindow

if TYPE_CHECKING:
    from ui.sync_runner import BackgroundSync

log = logging.getLogger(__name__)
_start_errors: list[QMessageBox] = []
WARM_UP_MS = 300  # after the window shows: printing loads while the person picks their name
# after the window shows, what is alive is frozen out of collections (None: never; the
# UI tests' processes build many windows, and freezing their garbage would keep it)
SETTLE_MS: int | None = 4_000
REGISTER_POLL_MS, REGISTER_WAIT_MS = 20, 1_000  # the register's build waits for the staff list
BACKUP_CHECK_MS = 60_000  # how often the idle backup asks whether one is due


def application() -> QApplication:
    """The QApplication with the product's stylesheet (created once per process)."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Tillsync")
    app.setOrganizationName("Tillsync")
    app.setWindowIcon(icon("logo"))
    style = RESOURCES / "style.qss"
    if style.exists():
        # url(resources/...) in the sheet: made absolute, so it works from any directory
        sheet = style.read_text(encoding="utf-8").replace("url(resources/", f"url({RESOURCES.as_posix()}/")
        if app.styleSheet() != sheet:  # re-setting it re-polishes every widget
            app.setStyleSheet(sheet)
    return app  # type: ignore[return-value]


class _AfterShow(QObject):
    """Calls ``fn`` ``delay_ms`` after ``widget`` is first shown (an event filter, once);
    ``on`` another event: after the first of those (QEvent.Type.Paint: once painted)."""

    def __init__(self, widget: QWidget, delay_ms: int, fn, on: QEvent.Type = QEvent.Type.Show) -> None:  # noqa: ANN001
        super().__init__(widget)
        self._delay_ms, self._fn, self._on = delay_ms, fn, on
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if event.type() == self._on:
            watched.removeEventFilter(self)
            QTimer.singleShot(self._delay_ms, self._fn)
        return False


class Desktop:
    """Everything one running app owns, so tests and screenshots can build it too."""

    def __init__(self, store: LocalStore, app: QApplication) -> None:
        self.ops = Ops()
        self.ctx = AppContext(store, self.ops, load_print_service(store))
        self.window = MainWindow(self.ctx)
        before_start = getattr(self.ctx.printing, "before_start", None)
        if before_start is not None:
            before_start(self._listen_for_slips)
        self.wedge = WedgeScanner(self.ctx.scanner_config)
        self.wedge.install(app)
        self.dialog_focus = DialogFocus()
        self.dialog_focus.install(app)
        self.wedge.scanned.connect(self.window.route_scan)
        self.serial = SerialScanner()
        self.serial.scanned.connect(self.window.route_scan)
        self.serial.failed.connect(self.ctx.warn)
        self.ctx.scanner_config_changed.connect(self._apply_scanner)
        self._apply_scanner(self.ctx.scanner_config)
        self.sync: BackgroundSync | None = None
        self.first_run: QWidget | None = None  # ui/screens/first_run.py on a fresh install
        self.ops.changed.connect(self._on_changes)
        self._closed = False
        # Printing warms up WARM_UP_MS after the window is shown, never while it is being
        # built and painted: on a loaded till the load beside the first paint (it started
        # from the status bar's printer read) held the sign-in screen back (issue 17).
        self._after_show = _AfterShow(self.window, WARM_UP_MS, self._warm_up)
        # The register (its import, its build, Babel's locale data for the empty cart's
        # total: ~60-75 ms of CPU) is built once the sign-in screen has been painted and its
        # staff have arrived, while the person picks their name; a sign-in before then
        # builds it at once (MainWindow.register).
        self._register_waits = 0
        self._register_after_paint = _AfterShow(self.window.signin, 0, self._build_register,
                                                on=QEvent.Type.Paint)
        if SETTLE_MS is not None:
            self._settle = _AfterShow(self.window, SETTLE_MS, self._settle_memory)
        # garbage collected on the GUI thread only, never by a lane's allocation: a Qt
        # object in a cycle freed on a worker thread crashes the app (ui/collector.py)
        self.collector = GuiThreadCollector()
        self.collector.start()
        self._start_idle_backups(store)

    def _start_idle_backups(self, store: LocalStore) -> None:
        """A sealed backup when one is due and the till is idle (app/services/backup.py)."""
        from app.services.backup import IdleBackup

        self.backups = IdleBackup(store)
        self.ops.changed.connect(lambda _changes: self.backups.touched())
        self._backup_timer = QTimer(self.window)
        self._backup_timer.timeout.connect(self._backup_if_due)
        self._backup_timer.start(BACKUP_CHECK_MS)

    def _backup_if_due(self) -> None:
        if self.backups.due():
            self.ops.run(self.backups.tick, failure=self._backup_failed)

    def _backup_failed(self, exc: BaseException) -> bool:
        log.warning("automatic backup failed", exc_info=exc)
        self.ctx.warn(f"The automatic backup failed: {exc}")
        return True

    def _build_register(self) -> None:
        """Build the register once the start's own work (the staff list) is delivered and
        painted; after REGISTER_WAIT_MS of other work (a sync round) it is built anyway."""
        if self._closed or "register" in self.window.screens:
            return
        if self.ops.busy and self._register_waits * REGISTER_POLL_MS < REGISTER_WAIT_MS:
            self._register_waits += 1
            QTimer.singleShot(REGISTER_POLL_MS, self._build_register)
        elif self._register_waits >= 0:
            # a moment for the staff list's layout and paint (posted events, each loop
            # turn handles them before any timer), then the build
            self._register_waits = -1
            QTimer.singleShot(REGISTER_POLL_MS, self._build_register)
        else:
            self.window.register  # noqa: B018 - built on look-up

    def _settle_memory(self) -> None:
        """Once, at the sign-in screen: no full garbage collection later walks the app's
        start-up objects (ui/collector.py)."""
        if not self._closed:
            settle()

    def _warm_up(self) -> None:
        """Load printing (escpos, reportlab) off the GUI thread once the window is up."""
        load = getattr(self.ctx.printing, "load", None)
        if load is not None and not self._closed:  # closed within WARM_UP_MS: nothing to warm
            self.ops.run(load, lane="device", success=lambda _service: self._printing_ready(),
                         failure=self._printing_failed)

    def _printing_ready(self) -> None:
        if self._closed:  # printing loaded after the window closed: nothing to show
            return
        self.window.status.refresh_printer()

    def _listen_for_slips(self) -> None:
        """The window hears of slips from before the print service can print its first job
        (a job may print before the warm-up's success reaches the GUI thread)."""
        if not getattr(self, "_closed", False):  # loaded after the window closed: no listening
            self.window.listen_for_slips()

    def _printing_failed(self, exc: BaseException) -> bool:
        log.error("Could not start the print service", exc_info=exc)
        self.ctx.warn(f"Printing is not available: {exc}")
        return True

    def _on_changes(self, changes: Changes) -> None:
        if changes.staff and self.ctx.actor is None:
            self.window.signin.load_staff()  # staff arrived or changed (e.g. by sync)

    def refresh_settings(self) -> None:
        """Re-read the store settings (enrollment and sync may change name and currency)."""
        self.ctx.settings = self.ctx.store.settings()
        self.window.setWindowTitle(f"Tillsync — {self.ctx.settings.name}")

    def start_sync(self, client_factory, *, start_loop: bool = True, **timing) -> BackgroundSync:
        """Background sync on the running qasync loop; the status bar follows it."""
        from ui.sync_runner import BackgroundSync

        self.sync = BackgroundSync(self.ctx.store, self.ops, client_factory, parent=self.ops, **timing)
        self.ctx.sync = self.sync
        self.window.status.attach(self.sync)
        if start_loop:
            self.sync.start()
        return self.sync

    async def stop_sync(self) -> None:
        if self.sync is not None:
            await self.sync.stop()

    def _apply_scanner(self, config) -> None:
        self.wedge.set_config(config)
        if config.serial_port:
            self.serial.open(config.serial_port, config.serial_baud)
        else:
            self.serial.close()

    def close(self) -> None:
        self._closed = True
        if self.sync is not None:
            self.sync.stop_now()
        QApplication.instance().removeEventFilter(self.wedge)
        QApplication.instance().removeEventFilter(self.dialog_focus)
        self.serial.close()
        self.ops.wait_idle()
        self.collector.stop()
        self.window.close()
        # Free the widget tree now rather than with the process: a parentless window
        # that is only hidden stays in QApplication.allWidgets() for good.
        self.window.deleteLater()
        self.wedge.deleteLater()


def start_error_box(message: str) -> QMessageBox:
    """The window that says why the till cannot start (a damaged or missing database, a
    damaged key file: the message says what happened and what to do)."""
    application()
    box = QMessageBox(QMessageBox.Icon.Critical, "Tillsync cannot start", message,
                      QMessageBox.StandardButton.Close)
    box.setObjectName("startError")
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return box


def show_start_error(message: str, *, wait: bool = True) -> QMessageBox:
    """Show :func:`start_error_box`; ``wait`` until it is closed (not in a smoke run)."""
    box = start_error_box(message)
    if wait:
        box.exec()
    else:
        _start_errors.append(box)  # kept alive while shown (a smoke run returns at once)
        box.show()
    return box


def run_app(store: LocalStore, *, demo: bool = False, smoke: bool = False,
            passphrase: str | None = None) -> int:
    """Run the desktop app until its window closes; ``smoke`` shows sign-in and exits 0.

    ``demo`` starts the embedded central server and enrolls and syncs with it
    (ui/demo_launch.py). An enrolled terminal syncs in the background for the life
    of the app. TILLSYNC_SCREENSHOT=path saves the window after start-up and quits.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request; sync logs what changed
    app = application()
    desktop = Desktop(store, app)
    desktop.window.fit_to_screen()
    desktop.window.showMaximized()  # a till's screen is the till's: all of it, never more
    if smoke:
        app.processEvents()
        desktop.ops.wait_idle()
        ok = desktop.window.root.currentWidget() is desktop.window.signin
        desktop.close()
        return 0 if ok else 1
    return _run_loop(app, desktop, demo=demo, passphrase=passphrase)


def _run_loop(app: QApplication, desktop: Desktop, *, demo: bool, passphrase: str | None) -> int:
    import qasync

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    closed = asyncio.Event()
    app.aboutToQuit.connect(closed.set)
    session = None

    async def start() -> None:
        nonlocal session
        if demo:
            from ui.demo_launch import start_demo

            session = await start_demo(desktop, passphrase=passphrase)
        elif desktop.ctx.store.device().server_url:
            _start_enrolled(desktop, passphrase)
        elif _fresh(desktop.ctx.store):
            desktop.first_run = _first_run(desktop, passphrase, loop)
        shot = os.environ.get("TILLSYNC_SCREENSHOT")
        if shot:
            QTimer.singleShot(1500, lambda: _screenshot(desktop, Path(shot)))

    _quit_on_signals(app)
    try:
        with loop:
            loop.create_task(start())
            loop.run_until_complete(closed.wait())
            loop.run_until_complete(desktop.stop_sync())
    finally:
        if session is not None:
            session.stop()
        if demo:
            from ui.demo_launch import stop_started

            stop_started()  # also a server still starting when the app was closed
        desktop.close()
    return 0


def _quit_on_signals(app: QApplication) -> None:
    """Ctrl+C and SIGTERM close the app the normal way, so the demo stops what it started."""
    import signal

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: app.quit())
    tick = QTimer(app)  # Python handles a signal only when it runs: give it the chance
    tick.timeout.connect(lambda: None)
    tick.start(300)


def _fresh(store: LocalStore) -> bool:
    """A new install: not enrolled and nobody to sign in (a standalone demo has staff)."""
    from sqlalchemy import func, select

    from app.store.models import Staff

    with store.db.read() as s:
        return not s.scalar(select(func.count()).select_from(Staff))


def _first_run(desktop: Desktop, passphrase: str | None, loop: asyncio.AbstractEventLoop):
    """The first-run screen over the window (ui/screens/first_run.py): connect, or demo."""
    from ui.screens.first_run import FirstRunScreen

    screen = FirstRunScreen(desktop.ctx.store, desktop.ops, passphrase=passphrase)
    screen.setWindowTitle("Tillsync — first start")

    def connected(_report: object) -> None:
        screen.close()
        desktop.refresh_settings()
        desktop.window.signin.load_staff()
        _start_enrolled(desktop, passphrase)

    def demo() -> None:
        from ui.demo_launch import start_demo

        screen.close()
        loop.create_task(start_demo(desktop, passphrase=passphrase))

    screen.finished.connect(connected)
    screen.demo_requested.connect(demo)
    screen.resize(640, 560)
    screen.show()
    return screen


def _start_enrolled(desktop: Desktop, passphrase: str | None) -> None:
    from sync.service import client_factory_for

    try:
        desktop.start_sync(client_factory_for(desktop.ctx.store, passphrase))
    except Exception as exc:  # noqa: BLE001 - the till works offline; say why sync is off
        log.warning("Background sync is off: %s", exc)
        desktop.window.status.set_mode(f"Sync is off: {exc}")


def _screenshot(desktop: Desktop, path: Path) -> None:
    desktop.window.status.refresh()
    desktop.ops.wait_idle()
    desktop.window.grab().save(str(path))
    log.info("screenshot saved to %s", path)
    QApplication.instance().quit()
