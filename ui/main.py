"""The one place that wires the store, the services, the event loop and the window."""

from __future__ import annotations

import asyncio
import logging
import sys

from PySide6.QtWidgets import QApplication

from app.store.local import LocalStore
from ui.context import AppContext, load_print_service
from ui.ops import Ops
from ui.scanner import SerialScanner, WedgeScanner
from ui.widgets.common import RESOURCES, icon
from ui.window import MainWindow

log = logging.getLogger(__name__)


def application() -> QApplication:
    """The QApplication with the product's stylesheet (created once per process)."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Tillsync")
    app.setOrganizationName("Tillsync")
    app.setWindowIcon(icon("logo"))
    style = RESOURCES / "style.qss"
    if style.exists():
        app.setStyleSheet(style.read_text(encoding="utf-8"))
    return app  # type: ignore[return-value]


class Desktop:
    """Everything one running app owns, so tests and screenshots can build it too."""

    def __init__(self, store: LocalStore, app: QApplication) -> None:
        self.ops = Ops()
        self.ctx = AppContext(store, self.ops, load_print_service(store))
        self.window = MainWindow(self.ctx)
        self.wedge = WedgeScanner(self.ctx.scanner_config)
        self.wedge.install(app)
        self.wedge.scanned.connect(self.window.route_scan)
        self.serial = SerialScanner()
        self.serial.scanned.connect(self.window.route_scan)
        self.serial.failed.connect(self.ctx.warn)
        self.ctx.scanner_config_changed.connect(self._apply_scanner)
        self._apply_scanner(self.ctx.scanner_config)

    def _apply_scanner(self, config) -> None:
        self.wedge.set_config(config)
        if config.serial_port:
            self.serial.open(config.serial_port, config.serial_baud)
        else:
            self.serial.close()

    def close(self) -> None:
        QApplication.instance().removeEventFilter(self.wedge)
        self.serial.close()
        self.ops.wait_idle()
        self.window.close()


def run_app(store: LocalStore, *, demo: bool = False, smoke: bool = False) -> int:
    """Run the desktop app until its window closes; ``smoke`` shows sign-in and exits 0."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if demo:
        from app import demo as demo_data

        demo_data.seed(store)
    app = application()
    desktop = Desktop(store, app)
    desktop.window.show()
    if smoke:
        app.processEvents()
        desktop.ops.wait_idle()
        ok = desktop.window.root.currentWidget() is desktop.window.signin
        desktop.close()
        return 0 if ok else 1
    return _run_loop(app, desktop)


def _run_loop(app: QApplication, desktop: Desktop) -> int:
    import qasync

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    closed = asyncio.Event()
    app.aboutToQuit.connect(closed.set)
    with loop:
        loop.run_until_complete(closed.wait())
    desktop.close()
    return 0
