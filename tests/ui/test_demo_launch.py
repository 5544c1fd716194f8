"""``tillsync run --demo`` end to end: a real embedded server, enrollment, first sync by
snapshot, a sale through the register, background sync online and offline.

Runs the app's own start-up coroutine on a qasync loop, as run_app does.
"""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
import qasync
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from sqlalchemy import func, select

from app.store.local import open_store
from app.store.models import Product, Staff
from tests.ui.conftest import barcodes
from ui.main import Desktop, application

PRODUCTS = 300


async def until(pred, timeout: float = 15.0, step: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {pred.__doc__ or pred}")
        await asyncio.sleep(step)


async def sign_in(desktop: Desktop, code: str, pin: str) -> None:
    screen = desktop.window.signin
    await until(lambda: code in screen._buttons)
    QTest.mouseClick(screen._buttons[code], Qt.MouseButton.LeftButton)
    button_type = type(screen._buttons[code])
    for digit in pin:
        QTest.mouseClick(screen.pad.findChild(button_type, f"pin_{digit}"), Qt.MouseButton.LeftButton)
    QTest.mouseClick(screen.pad.findChild(button_type, "pin_ok"), Qt.MouseButton.LeftButton)
    await until(lambda: desktop.ctx.actor is not None)


async def sell(desktop: Desktop, code: str) -> str:
    register = desktop.window.register
    before = register.last_sale
    register.handle_scan(code)
    await until(lambda: not register.cart.is_empty)
    register.pay()
    await until(lambda: register.tender_dialog is not None and register.tender_dialog.isVisible())
    QTest.keyClick(register.tender_dialog.amount, Qt.Key.Key_Return)
    QTest.keyClick(register.tender_dialog.amount, Qt.Key.Key_Return)
    await until(lambda: register.last_sale is not before)
    return register.last_sale.reference


def server_references(url: str, staff_id: str) -> set[str]:
    """The store's order references as the back office lists them to the demo's owner
    (who reaches every store; a manager only the stores whose tills they worked on)."""
    with httpx.Client(base_url=url, timeout=10) as http:
        token = http.post("/auth/login", json={"staff_id": staff_id, "password": "demo-111111-1001"})
        token.raise_for_status()
        page = http.get("/offline-orders", params={"limit": 500},
                        headers={"Authorization": f"Bearer {token.json()['access_token']}"})
        page.raise_for_status()
        return {o["reference"] for o in page.json()["items"]}


@pytest.fixture
def qloop(qapp):
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    yield loop
    loop.close()  # also stops the loop's worker threads
    asyncio.set_event_loop(None)


def test_demo_enrolls_syncs_sells_and_survives_the_server_going_away(qapp, qloop, tmp_path):
    from server.cli import demo_staff_ids
    from ui.demo_launch import start_demo

    store = open_store(tmp_path / "till", passphrase="x")
    application()
    desktop = Desktop(store, qapp)
    desktop.window.show()
    bar = desktop.window.status
    session = None
    shown: list[tuple] = []
    show_progress = bar.show_progress
    bar.show_progress = lambda *a: (shown.append(a), show_progress(*a))

    async def scenario() -> None:
        nonlocal session
        session = await start_demo(desktop, products=PRODUCTS, passphrase="x", interval_s=0.5,
                                   backoff_base_s=0.2, backoff_max_s=1.0)
        assert session.server is not None, session.standalone_reason
        assert desktop.sync is not None and desktop.sync.running
        assert any(len(a) == 2 and a[1] > PRODUCTS and a[0] == a[1] for a in shown), shown[:5]
        device = store.device()
        assert device.server_url == session.server.url and device.enrolled_at is not None
        with store.db.read() as s:
            assert s.scalar(select(func.count()).select_from(Product)) == PRODUCTS
            assert s.scalar(select(func.count()).select_from(Staff)) == 4
        await until(lambda: bar.last_status is not None and bar.last_status.online)
        assert not bar.progress.isVisible()

        await sign_in(desktop, "1003", "3333")
        items = barcodes(store, 2)
        ref = await sell(desktop, items[0][0])
        owner = demo_staff_ids()["1001"]
        await until(lambda: ref in server_references(session.server.url, owner), timeout=20, step=0.3)
        await until(lambda: bar.last_status.online and bar.last_status.waiting == 0)
        assert bar.online.text() == "● Online" and bar.waiting.text() == "0 waiting to sync"

        session.server.stop()  # the network goes away
        ref2 = await sell(desktop, items[1][0])
        await until(lambda: not bar.last_status.online and bar.last_status.waiting >= 1)
        # offline, or offline while it tries again: either way the words start "Offline"
        assert bar.online.text() in ("● Offline", "● Offline · reconnecting…")
        assert bar.waiting.text().startswith("1 waiting")

        await asyncio.to_thread(session.server.start)  # same port, same data
        await until(lambda: bar.last_status.online and bar.last_status.waiting == 0, timeout=20)
        assert ref2 in server_references(session.server.url, owner)
        await desktop.stop_sync()
        assert not desktop.sync.running

    try:
        qloop.run_until_complete(asyncio.wait_for(scenario(), 60))
    finally:
        qloop.run_until_complete(desktop.stop_sync())
        if session is not None:
            session.stop()
        desktop.close()
        store.close()


def test_demo_falls_back_to_a_standalone_store_when_the_server_cannot_start(
        qapp, qloop, tmp_path, monkeypatch):
    from ui import embedded_server
    from ui.demo_launch import start_demo

    def broken(self, timeout_s: float = 30.0) -> str:
        raise embedded_server.EmbeddedServerError("port blocked")

    monkeypatch.setattr(embedded_server.EmbeddedServer, "start", broken)
    store = open_store(tmp_path / "till", passphrase="x")
    application()
    desktop = Desktop(store, qapp)
    desktop.window.show()
    try:
        session = qloop.run_until_complete(start_demo(desktop, products=50, passphrase="x"))
        assert session.server is None and "port blocked" in session.standalone_reason
        assert desktop.sync is None
        bar = desktop.window.status
        assert bar.mode.isVisibleTo(bar) and "Standalone demo" in bar.mode.text()
        with store.db.read() as s:
            assert s.scalar(select(func.count()).select_from(Product)) > 0
        assert store.device().server_url is None
    finally:
        desktop.close()
        store.close()


def test_closing_during_the_first_sync_is_no_failure(qapp, qloop, tmp_path, caplog):
    """The window closed while the first sync loaded the snapshot: the app stops its sync
    and the demo server (ui/main.py's close path), the round in flight loses its server,
    and start_demo said "First sync failed" (a warning) and then started the sync loop
    again after the close. Closing is not a failure: nothing alarming, no loop."""
    import logging

    from ui.demo_launch import start_demo, stop_started

    store = open_store(tmp_path / "till", passphrase="x")
    application()
    desktop = Desktop(store, qapp)
    desktop.window.show()
    bar = desktop.window.status
    show_progress = bar.show_progress
    closed: list[bool] = []

    def close_the_till() -> None:  # as run_app does once the window closed
        desktop.sync.stop_now()
        stop_started()  # the demo server goes: the round in flight meets a closed socket
        closed.append(True)

    def progress(*a) -> None:
        show_progress(*a)
        # the first sync (the only round before start_demo returns) loading the snapshot
        if desktop.sync is not None and len(a) == 2 and a[1] > 0 and not closed:
            closed.append(False)
            asyncio.get_event_loop().call_soon(close_the_till)

    bar.show_progress = progress
    caplog.set_level(logging.INFO, logger="ui.demo_launch")
    try:
        session = qloop.run_until_complete(asyncio.wait_for(
            start_demo(desktop, products=PRODUCTS, passphrase="x", interval_s=0.5,
                       backoff_base_s=0.2, backoff_max_s=1.0), 240))
        assert closed == [False, True], "the first sync never loaded a snapshot to close during"
        alarming = [r.getMessage() for r in caplog.records
                    if r.name == "ui.demo_launch" and r.levelno >= logging.WARNING]
        assert alarming == []
        assert any("closing" in r.getMessage() for r in caplog.records if r.name == "ui.demo_launch")
        assert session.server is not None and not desktop.sync.running  # no loop after the close
    finally:
        stop_started()
        desktop.close()
        store.close()
