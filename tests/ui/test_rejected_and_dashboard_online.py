"""Issue 15 against the real server (uvicorn on 127.0.0.1): the refused-operations screen
resubmits and dismisses through the server's quarantine under the typed person's own
sign-in: a manager resubmits and dismisses (with the reason, which the server keeps), the
server refuses a cashier (sync.resolve is a manager's, an admin's or the owner's), and a
resubmit the server refuses again leaves the op refused; the dashboard reads
the server's figures online and the till's own, saying how fresh they are, offline. The
resubmit/dismiss and dashboard flows run on SQLite and PostgreSQL.

Set TILLSYNC_WRITE_SCREENSHOTS=1 to write docs/screenshots/rejected-ops-actions-*.png,
dashboard-server-*.png and dashboard-offline-*.png (1024x768 and 1366x768) and
rejected-ops-resubmit-refused.png (the dialog with the server's refusal)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QApplication
from sqlalchemy import select

from app.domain.permissions import Role
from app.domain.tender import Method, Tender
from app.services import approvals, sales, staff
from app.store.models import AuditEntry, OutboxOperation, Staff
from app.store.unit_of_work import Actor
from server.db.models import Order as ServerOrder
from server.db.models import QuarantinedOp
from server.db.models import Staff as ServerStaff
from sync.client import SyncClient, TransientError
from sync.service import client_factory_for
from tests.server.support import PINS
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
from tests.ui.conftest import settle
from ui.server_calls import OFFLINE

ROOT = Path(__file__).resolve().parents[2]
SIZES = ((1024, 768), (1366, 768))
TITLE_BAR = 32


def shots(tmp_path: Path) -> Path:
    if os.environ.get("TILLSYNC_WRITE_SCREENSHOTS"):
        return ROOT / "docs" / "screenshots"
    return tmp_path


@pytest.fixture
def till(tmp_path: Path, tenant, migrated_store_file: Path) -> Iterator[Till]:  # noqa: F811
    t = make_till(tmp_path / "till", tenant, migrated=migrated_store_file)
    yield t
    t.store.close()


@pytest.fixture
def online(qapp, qtbot, till: Till):
    """The desktop over an enrolled till, its sync service attached (rounds run by hand)."""
    from ui.main import Desktop, application

    application()
    d = Desktop(till.store, qapp)
    d.window.show()
    qtbot.waitExposed(d.window)
    d.start_sync(client_factory_for(till.store), start_loop=False)
    sync_round(d)
    yield d
    d.close()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def sync_round(desktop) -> None:
    """One sync round of the desktop's own service (its status reaches the screens)."""
    with contextlib.suppress(TransientError):  # offline: the service says so
        asyncio.run(desktop.sync.service.run_once())


def go_offline(desktop) -> None:
    """The server can no longer be reached: a port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    desktop.sync.service.client_factory = lambda: SyncClient(f"http://127.0.0.1:{port}", "tt_x")
    sync_round(desktop)
    assert not desktop.sync.service.online


def code_of(till: Till, role: Role) -> str:
    with till.store.db.read() as s:
        person = s.get(Staff, till.tenant.staff[role])
        assert person is not None
        return person.code


def sign_in_as(desktop, till: Till, role: Role) -> None:
    desktop.window.on_signed_in(staff.sign_in(till.store, code_of(till, role), PINS[role]))


def refused_deletions(till: Till, n: int) -> list[str]:
    """``n`` deletions a cashier made with a manager's approval but no proof of it (the
    till's PIN was never typed): the server refuses each into its quarantine."""
    cashier = till.actor(Role.CASHIER)
    no_key = Actor(till.tenant.staff[Role.MANAGER], "manager person", Role.MANAGER)
    sales = [till.sell(pay=False) for _ in range(n)]
    assert not till.sync().push.rejected
    for sale in sales:
        approvals.delete_with_override(till.store, cashier, no_key, sale.order_id, "walked out")
    report = till.sync()
    assert len(report.push.rejected) == n, report.push.rejected
    with till.store.db.read() as s:
        return list(s.scalars(select(OutboxOperation.op_id).where(
            OutboxOperation.type == "order.delete").order_by(OutboxOperation.op_seq)))


def outbox_row(till: Till, op_id: str) -> OutboxOperation:
    with till.store.db.read() as s:
        row = s.get(OutboxOperation, op_id)
        assert row is not None
        s.expunge(row)
        return row


def quarantined(till: Till, op_id: str) -> QuarantinedOp:
    with till.tenant.server.ctx.reader() as s:
        q = s.scalars(select(QuarantinedOp).where(QuarantinedOp.op_id == op_id)).one()
        s.expunge(q)
        return q


def screen_with(desktop, qtbot, key: str):
    desktop.window.show_screen(key)
    settle(desktop, qtbot, 100)
    return desktop.window.screens[key]


def pick(screen, qtbot, op_id: str) -> None:
    qtbot.waitUntil(lambda: any(r.op_id == op_id for r in screen.rows), timeout=5000)
    screen.table.selectRow([r.op_id for r in screen.rows].index(op_id))
    assert screen.selected().op_id == op_id


def type_into(dialog, qtbot, code: str, pin: str, reason: str | None = None) -> None:
    if reason is not None:
        dialog.reason.setText(reason)
    dialog.code.setText(code)
    dialog.pin.setText(pin)  # (typed fast, digits would read as a wedge scanner's burst)
    qtbot.mouseClick(dialog.go, Qt.MouseButton.LeftButton)


def answered(desktop, qtbot, dialog) -> None:
    """Wait for the server's answer (and the till's record) to land in the dialog."""
    qtbot.waitUntil(lambda: dialog.go.isEnabled() or not dialog.isVisible(), timeout=15000)
    settle(desktop, qtbot)


@BACKENDS
def test_a_refused_op_resubmitted_and_another_dismissed_on_the_server(online, qtbot, till,
                                                                      tmp_path):
    first, second = refused_deletions(till, 2)
    assert "no proof" in outbox_row(till, first).last_error
    sign_in_as(online, till, Role.MANAGER)
    screen = screen_with(online, qtbot, "rejected_ops")
    pick(screen, qtbot, first)
    assert screen.resubmit_button.isEnabled() and screen.dismiss_button.isEnabled()
    for width, height in SIZES:
        online.window.resize(width, height - TITLE_BAR)
        settle(online, qtbot, 80)
        online.window.grab().save(str(shots(tmp_path) / f"rejected-ops-actions-{width}x{height}.png"))

    # a wrong PIN: the server's words
    dialog = screen.ask_resubmit()
    type_into(dialog, qtbot, code_of(till, Role.MANAGER), "999999")
    answered(online, qtbot, dialog)
    assert dialog.isVisible() and dialog.error.text().startswith("The server refused")
    # a cashier's code and PIN: the till asks, the server refuses; nothing changes anywhere
    type_into(dialog, qtbot, code_of(till, Role.CASHIER), PINS[Role.CASHIER])
    answered(online, qtbot, dialog)
    assert dialog.isVisible() and "A cashier may not do sync.resolve" in dialog.error.text()
    assert dialog.error.text().startswith("The server refused")
    dialog.resize(dialog.sizeHint())  # (the offscreen screen is 800x600: a dialog is capped)
    assert dialog.sizeHint().height() < 768 - TITLE_BAR, dialog.sizeHint()
    dialog.grab().save(str(shots(tmp_path) / "rejected-ops-resubmit-refused.png"))
    assert quarantined(till, first).status == "open"
    assert outbox_row(till, first).status == "rejected"

    # the manager's code and PIN (sync.resolve, their store): resubmitted on the server,
    # found there in one call by its op_id, and pending again here
    type_into(dialog, qtbot, code_of(till, Role.MANAGER), PINS[Role.MANAGER])
    answered(online, qtbot, dialog)
    assert not dialog.isVisible() and dialog.recorded == "pending"
    q = quarantined(till, first)
    assert q.status == "resubmitted" and q.resolved_by == till.tenant.staff[Role.MANAGER]
    assert q.result["status"] == "applied"
    row = outbox_row(till, first)
    assert row.status == "pending"
    with till.tenant.server.ctx.reader() as s:
        deleted = s.get(ServerOrder, row.entity_id)
        assert deleted is not None and deleted.status == "deleted"
    sync_round(online)  # the push collects the server's stored answer: done, once
    assert outbox_row(till, first).status == "done"
    qtbot.waitUntil(lambda: [r.op_id for r in screen.rows] == [second], timeout=5000)

    # dismissed with a reason: a reason is required before anything is sent
    pick(screen, qtbot, second)
    dialog = screen.ask_dismiss()
    type_into(dialog, qtbot, code_of(till, Role.MANAGER), PINS[Role.MANAGER], reason="   ")
    assert dialog.error.text() == "Say why this operation is dismissed"
    assert quarantined(till, second).status == "open"
    type_into(dialog, qtbot, code_of(till, Role.CASHIER), PINS[Role.CASHIER],
              reason="Sale was voided on paper")
    answered(online, qtbot, dialog)
    assert dialog.isVisible() and "A cashier may not do sync.resolve" in dialog.error.text()
    assert quarantined(till, second).status == "open"
    type_into(dialog, qtbot, code_of(till, Role.MANAGER), PINS[Role.MANAGER],
              reason="Sale was voided on paper")
    answered(online, qtbot, dialog)
    assert not dialog.isVisible()
    q = quarantined(till, second)
    assert q.status == "dismissed" and q.resolved_by == till.tenant.staff[Role.MANAGER]
    assert q.dismiss_reason == "Sale was voided on paper"  # the server keeps why, too
    row = outbox_row(till, second)
    assert row.status == "dismissed"
    assert row.result["dismissed"]["reason"] == "Sale was voided on paper"
    with till.store.db.read() as s:
        entries = {e.action: e for e in s.scalars(select(AuditEntry).where(
            AuditEntry.entity_type == "outbox"))}
    assert entries["outbox.dismiss"].reason == "Sale was voided on paper"
    assert entries["outbox.dismiss"].actor_id == till.tenant.staff[Role.MANAGER]
    assert entries["outbox.dismiss"].changes["status"] == ["rejected", "dismissed"]
    assert entries["outbox.resubmit"].changes["status"] == ["rejected", "pending"]
    qtbot.waitUntil(lambda: not screen.rows, timeout=5000)
    sync_round(online)  # a dismissed op is not sent again
    assert outbox_row(till, second).status == "dismissed"


def test_a_resubmit_the_server_refuses_again_keeps_the_op_refused(online, qtbot, till):
    sale = till.sell(pay=False)
    assert not till.sync().push.rejected
    sales.record_payment(till.store, till.actor(Role.CASHIER), sale.order_id,
                         Tender(Method.CASH, 100))
    with till.tenant.server.ctx.writer.begin() as s:  # the cashier left before it synced
        s.get(ServerStaff, till.tenant.staff[Role.CASHIER]).active = False
    assert len(till.sync().push.rejected) == 1
    with till.store.db.read() as s:
        op_id = s.scalars(select(OutboxOperation.op_id).where(
            OutboxOperation.type == "payment.record")).one()
    sign_in_as(online, till, Role.MANAGER)
    screen = screen_with(online, qtbot, "rejected_ops")
    pick(screen, qtbot, op_id)
    dialog = screen.ask_resubmit()
    type_into(dialog, qtbot, code_of(till, Role.OWNER), PINS[Role.OWNER])
    answered(online, qtbot, dialog)
    assert not dialog.isVisible() and dialog.recorded == "rejected"
    assert quarantined(till, op_id).status == "open"  # the server keeps it for later
    row = outbox_row(till, op_id)
    assert row.status == "rejected" and "no longer an active staff member" in row.last_error
    with till.store.db.read() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "outbox.resubmit")).one()
    assert entry.changes["status"] == ["rejected", "rejected"]
    assert entry.changes["server"]["result"] == "rejected"
    assert [r.op_id for r in screen.rows] == [op_id]
    sync_round(online)  # never sent again by itself
    assert outbox_row(till, op_id).status == "rejected"


def test_offline_the_actions_say_why(online, qtbot, till):
    [op_id] = refused_deletions(till, 1)
    sign_in_as(online, till, Role.MANAGER)
    screen = screen_with(online, qtbot, "rejected_ops")
    pick(screen, qtbot, op_id)
    assert screen.resubmit_button.isEnabled()
    go_offline(online)
    qtbot.waitUntil(lambda: not screen.resubmit_button.isEnabled(), timeout=5000)
    for button in (screen.resubmit_button, screen.dismiss_button):
        assert not button.isEnabled() and button.toolTip() == OFFLINE
    assert screen.why_not.text() == OFFLINE and screen.why_not.isVisible()


@BACKENDS
def test_dashboard_reads_the_server_online_and_the_till_offline(online, qtbot, till, tenant,  # noqa: F811
                                                                tmp_path):
    tenant.add_store("Harbour road")  # the manager works at Main street only
    for price in (250, 400, 1000):
        till.sell(price=price)
    sync_round(online)
    other = make_till(tmp_path / "other", tenant, "Back counter")  # the store's other till
    try:
        other.sell(price=5000)
        assert not other.sync().push.rejected
    finally:
        other.store.close()
    sign_in_as(online, till, Role.MANAGER)
    screen = screen_with(online, qtbot, "dashboard")
    qtbot.waitUntil(lambda: screen.figures is not None, timeout=5000)
    assert screen.source == "till" and screen.server_button.isVisible()
    assert screen.figures.total.orders == 3  # the other till's sale is not pulled yet

    dialog = screen.ask_server()
    type_into(dialog, qtbot, code_of(till, Role.MANAGER), PINS[Role.MANAGER])
    answered(online, qtbot, dialog)
    assert not dialog.isVisible()
    qtbot.waitUntil(lambda: screen.source == "server", timeout=15000)
    settle(online, qtbot)
    assert [screen.store_picker.itemText(i) for i in range(screen.store_picker.count())] == \
        ["Main street"]  # only the stores the server lets the manager read
    d = screen.figures
    assert d.total.orders == 4 and d.total.gross == 250 + 400 + 1000 + 5000
    assert d.today.orders == 4 and d.by_type["offline"].orders == 4
    assert sum(d.tenders.values()) == d.total.gross
    assert sum(v for _h, v in d.by_hour) == d.total.gross
    assert sum(v for _d, v in d.by_day) == d.total.gross
    assert screen.cards["todayCard"][0].text() == online.ctx.money(6650)
    assert screen.freshness.text().startswith("The server's figures for Main street")
    assert not screen.server_button.isVisible()
    for width, height in SIZES:
        online.window.resize(width, height - TITLE_BAR)
        settle(online, qtbot, 80)
        online.window.grab().save(str(shots(tmp_path) / f"dashboard-server-{width}x{height}.png"))

    go_offline(online)
    screen.reload()
    qtbot.waitUntil(lambda: screen.source == "till", timeout=5000)
    settle(online, qtbot)
    d = screen.figures
    assert d.total.orders == 3 and d.total.gross == 1650  # what this till holds
    text = screen.freshness.text()
    assert text.startswith(OFFLINE)
    assert "Figures from this till for Main street, as of " in text
    assert "(its last sync with the server)" in text
    assert d.as_of is not None and d.as_of.astimezone().strftime("%d %b %H:%M") in text
    for width, height in SIZES:
        online.window.resize(width, height - TITLE_BAR)
        settle(online, qtbot, 80)
        online.window.grab().save(str(shots(tmp_path) / f"dashboard-offline-{width}x{height}.png"))
