"""``tillsync run --demo``: a real central server beside the till, then a normal start.

Steps, each shown in the status bar: start the embedded server (seeded once with
the demo organization and its catalog), enroll this terminal with the server's
one-time code if it is not enrolled yet, run the first sync (the catalog and the
staff arrive by snapshot, with a progress bar), then keep syncing in the
background. If the server cannot start, the demo runs standalone on a locally
seeded store and says so. A demo machine has no receipt printer: the demo gets a
screen printer (the slip shows in a window and is kept as a PDF) unless one is set up.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.services.changes import Changes

if TYPE_CHECKING:
    from sync.service import ClientFactory
    from ui.embedded_server import EmbeddedServer
    from ui.main import Desktop

log = logging.getLogger(__name__)

ALL = Changes(orders=True, catalog=True, stock=True, staff=True, outbox=True, conflicts=True,
              approvals=True)


DEMO_PRINTER = "Screen (demo)"
SLIPS_DIR = "slips"


def ensure_demo_printer(service: Any, data_dir: Path) -> None:
    """Give a till with no printer the screen printer, as its default (once)."""
    from printing.connections import PrinterConfig

    if service.printers():
        return
    service.save_printer(PrinterConfig(name=DEMO_PRINTER, connection="screen",
                                       address=str(Path(data_dir) / SLIPS_DIR), default=True))
    log.info("No receipt printer set up: the demo prints on screen (PDFs in %s)", Path(data_dir) / SLIPS_DIR)


async def _demo_printer(desktop: Desktop) -> None:
    service = desktop.ctx.printing
    if service is None:
        return
    try:
        await asyncio.to_thread(ensure_demo_printer, service, desktop.ctx.store.data_dir)
    except Exception:  # noqa: BLE001 - the demo runs on; receipts then say they did not print
        log.exception("Could not set up the demo's screen printer")
    desktop.window.status.refresh_printer()


_started: list[EmbeddedServer] = []  # every server this process started, stopped at exit


def stop_started() -> None:
    """Stop every embedded server started here, even one still starting when the app quit."""
    while _started:
        _started.pop().stop()


@dataclass
class DemoSession:
    server: EmbeddedServer | None
    standalone_reason: str | None = None

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


def client_factory(desktop: Desktop, url: str, passphrase: str | None) -> ClientFactory:
    """Clients for ``url`` with the stored terminal credential (the demo server's port may move)."""
    from sync import credentials
    from sync.client import SyncClient
    from sync.service import NotEnrolled

    store = desktop.ctx.store
    cred = credentials.load(store.data_dir, store.device_id, passphrase)
    if cred is None:
        raise NotEnrolled("This terminal has no stored credential")
    return lambda: SyncClient(url, cred.token)


async def start_demo(desktop: Desktop, *, products: int = 2000, passphrase: str | None = None,
                     interval_s: float = 15.0, backoff_base_s: float = 2.0,
                     backoff_max_s: float = 4.0) -> DemoSession:
    """Bring the demo up; returns the session to stop at exit. Never raises for a failed server."""
    from ui.embedded_server import EmbeddedServer

    bar = desktop.window.status
    store = desktop.ctx.store
    await _demo_printer(desktop)
    server = EmbeddedServer(store.data_dir, products)
    _started.append(server)
    bar.show_progress(0, 0, "Starting the demo server… (the first start takes about a minute and a half)")
    try:
        url = await asyncio.to_thread(server.start)
    except Exception as exc:  # noqa: BLE001 - any failure means: run standalone
        log.warning("The embedded demo server did not start (%s); running standalone", exc)
        server.stop()
        return await _standalone(desktop, f"the demo server did not start: {exc}", passphrase)
    try:
        if not store.device().server_url:
            from sync.enroll import enroll

            bar.show_progress(0, 0, "Enrolling this till…")
            code = server.enrollment_code()
            if not code:
                raise RuntimeError("the demo server wrote no enrollment code")
            result = await enroll(store, url, code, "Demo till", passphrase=passphrase)
            log.info("Enrolled as device %s of %s", result.device_code, result.store_name)
        factory = client_factory(desktop, url, passphrase)
    except Exception as exc:  # noqa: BLE001 - e.g. a store with standalone demo sales
        log.warning("Could not enroll with the demo server (%s); running standalone", exc)
        server.stop()
        return await _standalone(desktop, f"could not enroll: {exc}", passphrase)
    sync = desktop.start_sync(factory, interval_s=interval_s, backoff_base_s=backoff_base_s,
                              backoff_max_s=backoff_max_s, start_loop=False)
    desktop.refresh_settings()
    bar.show_progress(0, 0, "First sync…")
    try:
        await sync.sync_now()
    except Exception as exc:  # noqa: BLE001 - the loop retries; the status bar says offline
        if not sync.stopped:
            log.warning("First sync failed: %s", exc)
    if sync.stopped:  # the window closed during the first sync: closing, not a failure
        log.info("First sync left unfinished: the till is closing")
        return DemoSession(server)
    desktop.refresh_settings()
    sync.start()
    return DemoSession(server)


async def _standalone(desktop: Desktop, reason: str, passphrase: str | None) -> DemoSession:
    """No server: a locally seeded store, or the enrolled data offline if there is some."""
    store = desktop.ctx.store
    bar = desktop.window.status
    if store.device().server_url:
        bar.set_mode("Demo server unavailable: working offline")
        try:
            from sync.service import client_factory_for

            desktop.start_sync(client_factory_for(store, passphrase))
        except Exception:  # noqa: BLE001
            log.exception("Could not start background sync")
    else:
        from app import demo

        bar.show_progress(0, 0, "Seeding a standalone demo store…")
        await asyncio.to_thread(demo.seed, store)
        bar.set_mode("Standalone demo (no server): " + reason[:120])
        desktop.refresh_settings()
        desktop.ops.broadcast(ALL)
    bar.hide_progress()
    return DemoSession(None, reason)
