"""Issue 17: a till's first sync brings the last days of orders, and an older one comes
when a person asks for it in the orders browser: by typing its reference (asked of the
server when the till does not hold it) or with "Older orders from the server" for the
days picked. Real server under uvicorn on 127.0.0.1, SQLite and PostgreSQL; offline,
the screen says why nothing can be asked."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QDate, QEvent, Qt
from PySide6.QtWidgets import QApplication
from sqlalchemy import select, update

from app.domain.permissions import Role
from app.store.models import Order
from server.db.models import Order as ServerOrder
from sync.service import client_factory_for
from tests.server.support import line
from tests.sync.conftest import (  # noqa: F401 - fixtures
    BACKENDS,
    Till,
    make_till,
    memory_keyring,
    postgres_server,
    server,
    sqlite_server,
    tenant,
)
from tests.ui.test_rejected_and_dashboard_online import (
    go_offline,
    screen_with,
    sign_in_as,
    sync_round,
)
from ui.server_calls import OFFLINE

OLD = datetime.now(UTC) - timedelta(days=90)


def old_orders(tenant: Any, n: int) -> list[tuple[str, str]]:  # noqa: F811
    """``n`` paid orders of another till, 90 days old on the server: (id, reference)."""
    term, cashier = tenant.term, tenant.staff[Role.CASHIER]
    ops = [term.order_create(cashier, lines=[line(None, 300 + i)], pay=True) for i in range(n)]
    results = term.push(ops)["results"]
    assert all(r["status"] == "applied" for r in results), results
    ids = [op["entity_id"] for op in ops]
    with tenant.server.ctx.writer.begin() as s:
        s.execute(update(ServerOrder).where(ServerOrder.id.in_(ids))
                  .values(created_at=OLD, updated_at=OLD, received_at=OLD))
    return [(op["entity_id"], op["payload"]["reference"]) for op in ops]


def held(till: Till) -> set[str]:
    with till.store.db.read() as s:
        return set(s.scalars(select(Order.id)))


@pytest.fixture
def till(tmp_path: Path, tenant, migrated_store_file: Path) -> Iterator[Till]:  # noqa: F811
    t = make_till(tmp_path / "till", tenant, migrated=migrated_store_file)
    yield t
    t.store.close()


@pytest.fixture
def history(tenant) -> list[tuple[str, str]]:  # noqa: F811
    return old_orders(tenant, 3)


@pytest.fixture
def online(qapp, qtbot, till: Till, history):
    from ui.main import Desktop, application

    application()
    d = Desktop(till.store, qapp)
    d.window.show()
    qtbot.waitExposed(d.window)
    d.start_sync(client_factory_for(till.store), start_loop=False)
    sync_round(d)  # the first sync: a snapshot of the last 30 days
    yield d
    d.close()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def browser(desktop, qtbot, till: Till):  # type: ignore[no-untyped-def]
    sign_in_as(desktop, till, Role.MANAGER)
    return screen_with(desktop, qtbot, "orders")


def shown_ids(screen) -> set[str]:  # type: ignore[no-untyped-def]
    return {screen.model.order(i).id for i in range(len(screen.model.rows))}


@BACKENDS
def test_a_reference_older_than_the_window_comes_from_the_server(online, qtbot, till, history):
    old = dict(history)
    assert not held(till) & set(old)  # the snapshot left the 90-day-old orders out
    screen = browser(online, qtbot, till)
    (first_id, first_ref), *others = history
    screen.reference.setFocus()
    # the receipt's code scanned (a wedge burst ending in Enter): listed, from the server
    qtbot.keyClicks(screen.reference, first_ref)
    qtbot.keyClick(screen.reference, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: shown_ids(screen) == {first_id}, timeout=20_000)
    assert screen.reference.text() == first_ref
    assert f"Brought {first_ref} from the server" in screen.count.text()
    assert held(till) & set(old) == {first_id}  # only the one asked for came
    # a reference the server does not hold either: said so, asked once
    screen.reference.setText("GO-NOSUCH1")
    qtbot.keyClick(screen.reference, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "holds no order GO-NOSUCH1" in screen.count.text(), timeout=20_000)
    # the days picked, by the button: the other two come
    screen.reference.clear()
    screen.date_from.setDate(QDate.currentDate().addDays(-95))
    screen.date_to.setDate(QDate.currentDate().addDays(-85))
    screen.use_dates.setChecked(True)
    qtbot.mouseClick(screen.from_server, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: shown_ids(screen) == set(old), timeout=20_000)
    assert "Brought the orders of those days from the server" in screen.count.text()
    assert screen.from_server.isEnabled()


def test_offline_the_browser_says_why_it_cannot_ask(online, qtbot, till, history):
    screen = browser(online, qtbot, till)
    go_offline(online)
    screen.reference.setText(history[0][1])
    qtbot.keyClick(screen.reference, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "0 orders shown" in screen.count.text(), timeout=10_000)
    qtbot.mouseClick(screen.from_server, Qt.MouseButton.LeftButton)
    assert OFFLINE in screen.count.text()
    assert not held(till) & {i for i, _ in history}
