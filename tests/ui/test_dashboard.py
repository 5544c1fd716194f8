"""Issue 15 on real widgets over a real store: the dashboard's figures and exports, each
"needs attention" item opening its screen, the refused operations in shop words, and the
orders browser fetching pages as it scrolls.

Set TILLSYNC_WRITE_SCREENSHOTS=1 to write docs/screenshots/dashboard.png,
dashboard-report.png, rejected-ops.png and orders-browser.png."""

from __future__ import annotations

import csv
import os
import subprocess
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton
from sqlalchemy import select

from app.domain.tender import Method, Tender
from app.services import approvals, sales, staff
from app.store.models import OutboxOperation
from tests.ui.conftest import settle, sign_in
from tests.ui.test_manager_flows import make_sale

ROOT = Path(__file__).resolve().parents[2]


def shots(tmp_path: Path) -> Path:
    if os.environ.get("TILLSYNC_WRITE_SCREENSHOTS"):
        return ROOT / "docs" / "screenshots"
    return tmp_path


def _manager_on(desktop, qtbot, key: str):
    sign_in(desktop, qtbot, "1002", "222222")
    desktop.window.show_screen(key)
    settle(desktop, qtbot, 150)
    return desktop.window.screens[key]


def test_dashboard_figures_csv_and_pdf(desktop, qtbot, store, tmp_path):
    for _ in range(3):
        make_sale(store, paid=True)
    make_sale(store, paid=False, deposit=100)
    make_sale(store, paid=False, plan_down_pct=20)  # a plan whose first instalment is late
    screen = _manager_on(desktop, qtbot, "dashboard")
    d = screen.figures
    assert d is not None and d.today.orders == 5
    with store.db.read() as s:
        from app.store.models import Order
        total = sum(o.total for o in s.scalars(select(Order)))
    assert d.today.gross == total == d.total.gross
    assert screen.cards["todayCard"][0].text() == desktop.ctx.money(total)
    assert "never synced" in screen.freshness.text()
    assert sum(d.tenders.values()) == sum(p for p in _paid(store))
    assert d.plans_overdue == 1 and d.plans_outstanding > 0
    assert screen.products.rowCount() > 0
    rows = list(csv.reader(screen.export_csv(tmp_path / "d.csv").open(encoding="utf-8")))
    assert ["total", f"{d.date_from}..{d.date_to}", "5", str(total)] in rows
    pdf = screen.export_pdf(tmp_path / "d.pdf")
    out = shots(tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), str(out / "dashboard-report")],
                   check=True)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "Revenue by hour" in text and "Top products" in text and "Tender mix" in text
    desktop.window.grab().save(str(out / "dashboard.png"))


def _paid(store) -> list[int]:
    from app.store.models import Payment
    with store.db.read() as s:
        return list(s.scalars(select(Payment.amount)))


def _reject(store, op_id: str, reason: str) -> None:
    """What the push writes when the server answers ``rejected`` (sync/push.py)."""
    with store.db.write() as s:
        row = s.get(OutboxOperation, op_id)
        row.status, row.result = "rejected", {"status": "rejected", "reason": reason}


def _payment_op(store, order_id: str) -> str:
    cashier = staff.sign_in(store, "1003", "3333")
    sales.record_payment(store, cashier, order_id, Tender(Method.CASH, 500))
    with store.db.read() as s:
        return s.scalars(select(OutboxOperation.op_id).where(OutboxOperation.type == "payment.record")
                         .order_by(OutboxOperation.op_seq.desc())).first()


def _waiting_and_conflict(store) -> None:
    """An operation waiting to sync for five hours and an open conflict, as sync leaves them."""
    from datetime import UTC, datetime, timedelta

    from app.domain.ids import new_id
    from app.store.models import Conflict

    with store.db.write() as s:
        op = s.scalars(select(OutboxOperation).where(OutboxOperation.status == "pending")
                       .order_by(OutboxOperation.op_seq)).first()
        op.created_at = datetime.now(UTC) - timedelta(hours=5)
        s.add(Conflict(id=new_id(), entity_type="order", entity_id=op.entity_id, field="note",
                       local_value="a", server_value="b", reason="edited on two tills",
                       status="open"))


def test_each_attention_item_opens_its_screen(desktop, qtbot, store):
    pending = make_sale(store, paid=False, deposit=0)
    make_sale(store, paid=False, plan_down_pct=20)
    cashier = staff.sign_in(store, "1003", "3333")
    approvals.request_deletion(store, cashier, pending.order_id, "Customer changed their mind")
    _reject(store, _payment_op(store, pending.order_id), "the order is already paid")
    _waiting_and_conflict(store)
    desktop.ctx.printing.enqueue_receipt(pending.order_id, printer="No such printer")
    screen = _manager_on(desktop, qtbot, "dashboard")
    qtbot.waitUntil(lambda: "rejected" in screen.attention.buttons, timeout=5000)
    window = desktop.window
    assert window.nav_buttons["dashboard"].text() == f"Dashboard  ({len(screen.attention.current.items)})"
    expected = {"approvals": "approvals", "rejected": "rejected_ops", "overdue": "overdue",
                "conflicts": "conflicts", "waiting": "rejected_ops", "print_failed": "print_queue"}
    if "low_stock" in screen.attention.buttons:
        expected["low_stock"] = "inventory"
    for key, target in expected.items():
        window.show_screen("dashboard")
        button = screen.attention.findChild(QPushButton, f"attention_{key}")
        assert button is not None, key
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        assert window.pages.currentWidget() is window.screens[target], key


def test_rejected_operations_in_shop_words(desktop, qtbot, store, tmp_path):
    order = make_sale(store, paid=False, deposit=100)
    _reject(store, _payment_op(store, order.order_id), "Orders that are completed take no payment")
    screen = _manager_on(desktop, qtbot, "rejected_ops")
    qtbot.waitUntil(lambda: screen.table.rowCount() == 1, timeout=5000)
    with store.db.read() as s:
        from app.store.models import Order
        reference = s.get(Order, order.order_id).reference
    what = screen.table.item(0, 0).text()
    assert what == f"Payment {desktop.ctx.money(500)} on {reference}"
    assert screen.table.item(0, 1).text() == "Orders that are completed take no payment"
    # a till with no server: the actions are there, and say why they cannot act
    from ui.server_calls import NOT_CONNECTED
    for button in (screen.resubmit_button, screen.dismiss_button):
        assert button.isVisible() and not button.isEnabled()
        assert button.toolTip() == NOT_CONNECTED
    assert screen.why_not.text() == NOT_CONNECTED
    desktop.window.grab().save(str(shots(tmp_path) / "rejected-ops.png"))


def test_orders_browser_fetches_pages_and_opens_the_detail(desktop, qtbot, store, tmp_path):
    for _ in range(230):  # more than one page (200)
        make_sale(store, paid=True)
    last = make_sale(store, paid=False, deposit=100)
    screen = _manager_on(desktop, qtbot, "orders")
    model = screen.model
    qtbot.waitUntil(lambda: len(model.rows) >= 200, timeout=5000)
    assert model.canFetchMore()
    screen.view.scrollToBottom()
    qtbot.waitUntil(lambda: len(model.rows) == 231 and not model.more, timeout=5000)
    settle(desktop, qtbot)
    screen.status.setCurrentIndex(screen.status.findData("pending"))
    qtbot.waitUntil(lambda: len(model.rows) == 1, timeout=5000)
    assert model.order(0).id == last.order_id
    desktop.window.grab().save(str(shots(tmp_path) / "orders-browser.png"))
    screen.view.setCurrentIndex(model.index(0, 0))
    screen.view.activated.emit(model.index(0, 0))
    settle(desktop, qtbot)
    assert desktop.window.pages.currentWidget() is desktop.window.order_detail
