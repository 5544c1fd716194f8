"""Issue 21, defect 9: a conflict names the product (name and SKU) or the order (its
reference), says which till made the edit, shows money as money; the refund dialog shows
the amount being refunded as quantities are typed; counts are said without "(s)"."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton
from sqlalchemy import select

from app.domain.cart import Cart
from app.domain.ids import new_id
from app.domain.money import div_round
from app.domain.tender import Method, Tender
from app.services import catalog, sales, staff
from app.store.models import Order, OutboxOperation, Product
from sync import conflicts
from tests.ui.conftest import barcodes, settle, sign_in
from tests.ui.keys import press, type_text
from tests.ui.test_manager_flows import open_detail

SHOTS = Path(os.environ.get("TILLSYNC_SHOTS", "/tmp/h21"))


def _product(store) -> tuple[str, str, str]:
    with store.db.read() as s:
        p = s.scalars(select(Product).order_by(Product.sku).limit(1)).one()
        return p.id, p.name, p.sku


def _conflict(store, cid: str, entity_type: str, entity_id: str, fields: dict, op_id: str | None = None) -> None:
    with store.db.write() as s:
        conflicts.record_pulled(s, store.cipher, cid, {
            "entity_type": entity_type, "entity_id": entity_id, "kind": "field_conflict", "op_id": op_id,
            "fields": fields, "created_at": datetime.now(UTC).isoformat()})


def _cells(table, row: int) -> list[str]:
    return [table.item(row, c).text() for c in range(table.columnCount())]


def test_conflicts_name_the_product_and_the_till(desktop, qtbot, store):
    pid, name, sku = _product(store)
    _conflict(store, "c-1", "product", pid, {"price": {"base": 199, "server": 250, "terminal": 230}})
    cashier = staff.sign_in(store, "1003", "3333")
    cart = Cart(tax_inclusive=True)
    cart.add(catalog.line_for_scan(store, barcodes(store, 1)[0][0]))
    sale = sales.record_sale(store, cashier, cart, [Tender(Method.CASH, cart.totals().total)])
    with store.db.read() as s:
        ours = s.scalars(select(OutboxOperation.op_id).where(OutboxOperation.entity_id == sale.order_id)).first()
        reference = s.get(Order, sale.order_id).reference
    _conflict(store, "c-2", "order", sale.order_id, {"note": {"base": "a", "server": "from B", "terminal": "mine"}},
              op_id=ours)
    sign_in(desktop, qtbot, "1002", "222222")
    desktop.window.show_screen("conflicts")
    settle(desktop, qtbot)
    screen = desktop.window.conflicts
    assert screen.table.rowCount() == 2
    headers = [screen.table.horizontalHeaderItem(c).text() for c in range(screen.table.columnCount())]
    assert "This till wanted" not in headers, headers
    product, order = _cells(screen.table, 0), _cells(screen.table, 1)
    assert name in product[1] and sku in product[1] and pid[-8:] not in product[1], product
    assert product[3].startswith("Another till") and "€2.30" in product[3] and "€2.50" in product[4], product
    assert reference in order[1] and order[3].startswith("This till") and "mine" in order[3], order
    assert screen.count.text() == "2 open conflicts"
    SHOTS.mkdir(parents=True, exist_ok=True)
    desktop.window.grab().save(str(SHOTS / "conflicts.png"))
    screen.findChild(QPushButton, "keepServer").click()
    settle(desktop, qtbot)
    assert screen.count.text() == "1 open conflict"


def test_the_refund_dialog_shows_the_amount(desktop, qtbot, store):
    cashier = staff.sign_in(store, "1003", "3333")
    cart = Cart(tax_inclusive=True)
    for code, _name in barcodes(store, 2):
        cart.add(catalog.line_for_scan(store, code))
    cart.set_quantity(0, 3000)
    sale = sales.record_sale(store, cashier, cart, [Tender(Method.CARD, cart.totals().total)])
    sign_in(desktop, qtbot, "1002", "222222")
    screen = open_detail(desktop, qtbot, sale.order_id)
    screen.findChild(QPushButton, "detail_refund").click()
    dialog = screen.actions.dialog
    money = desktop.ctx.money
    assert dialog.amount.text() == f"Refund {money(0)}"
    first = screen.detail.lines[0]
    spin = dialog.spins[first.id]
    spin.setFocus()
    spin.selectAll()
    type_text(spin, "2")
    each = first.total // 3
    assert dialog.amount.text() == f"Refund {money(div_round(first.total * 2000, 3000))} to Card", dialog.amount.text()
    dialog.reason.setFocus()
    type_text(dialog.reason, "Two jars cracked")
    dialog.grab().save(str(SHOTS / "refund-dialog.png"))
    press(dialog.reason, Qt.Key.Key_Return)
    settle(desktop, qtbot, 100)
    assert each > 0
    with store.db.read() as s:
        assert s.get(Order, sale.order_id).refunded == div_round(first.total * 2000, 3000)


def test_no_count_is_said_with_s_in_brackets():
    root = Path(__file__).resolve().parents[2]
    mine = ["ui/screens/sales_today.py", "ui/screens/conflicts.py", "ui/dialogs/order_requests.py",
            "ui/screens/tender.py", "ui/dialogs/payment_plan.py", "ui/dialogs/order_edit.py"]
    said = [p for p in mine if "(s)" in (root / p).read_text()]
    assert said == []
    assert new_id()
