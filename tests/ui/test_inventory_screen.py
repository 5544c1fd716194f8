"""The inventory screen with real widgets, the real wedge-scanner filter and a real store."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from sqlalchemy import select

from app.domain.barcode import with_check_digit
from app.services import catalog, catalog_edit, inventory, staff
from app.store.models import AuditEntry, OutboxOperation, StockMovement
from tests.ui.conftest import barcodes, settle, sign_in, wedge_burst


def stock_in(desktop, qtbot):
    sign_in(desktop, qtbot, "1004", "4444")
    settle(desktop, qtbot)
    assert desktop.window.current_screen is desktop.window.inventory
    assert not desktop.window.nav_buttons["register"].isVisible()
    return desktop.window.inventory


def well_stocked(store, n: int) -> list[str]:
    """Codes of ``n`` products with more than 5 on hand, so counts of 1-4 always differ."""
    codes = [code for code, _ in barcodes(store, 60)
             if catalog.on_hand_milli(store, catalog.line_for_scan(store, code).product_id) > 5000]
    return codes[:n]


def counted(screen) -> dict[str, tuple[int, int]]:
    return {pid: (i.expected_milli, i.counted_milli) for pid, i in screen.counting.session.items.items()}


def test_count_session_scans_review_edit_and_commit(desktop, qtbot, store):
    screen = stock_in(desktop, qtbot)
    assert screen.counting.stack.currentWidget() is screen.counting.empty
    a, b, c = well_stocked(store, 3)
    pa, pb, pc = (catalog.line_for_scan(store, x).product_id for x in (a, b, c))
    before = {p: catalog.on_hand_milli(store, p) for p in (pa, pb, pc)}
    # three bursts of A, two of B, one of C, typed as a wedge scanner types them
    for code in (a, b, a, c, b, a):
        wedge_burst(code)
    settle(desktop, qtbot)
    assert counted(screen) == {pa: (before[pa], 3000), pb: (before[pb], 2000), pc: (before[pc], 1000)}
    assert screen.counting.model.rowCount() == 3 and screen.counting.stack.currentWidget() is screen.counting.table
    assert screen.counting.picker.field.text() == ""  # the scans never reached the field
    # the row of the last scan is selected and shows expected / counted / difference
    row = screen.counting.table.selectionModel().selectedRows()[0].row()
    assert screen.counting.model.order[row] == pa
    shown = [screen.counting.model.index(row, col).data() for col in range(5)]
    assert shown[3] == "3" and shown[2] == str(before[pa] // 1000)

    # C's count is made to match the books: F3 edits the selected row's count
    screen.counting.table.selectRow(screen.counting.model.row_of[pc])
    QTest.keyClick(screen.counting.table, Qt.Key.Key_F3)
    editor = QApplication.focusWidget()
    editor.selectAll()
    QTest.keyClicks(editor, str(before[pc] // 1000))
    QTest.keyClick(editor, Qt.Key.Key_Return)  # the delegate commits on a queued call
    qtbot.waitUntil(lambda: screen.counting.session.items[pc].counted_milli == before[pc])

    # review shows only what differs
    QTest.keyClick(screen.counting.table, Qt.Key.Key_F5)
    assert set(screen.counting.model.order) == {pa, pb}
    assert "2 differ" in screen.counting.summary.text()

    # commit with a reason: the whole count at once, every counted product (exact counts)
    ref = screen.counting.session.reference
    QTest.keyClick(screen.counting.table, Qt.Key.Key_F12)
    dialog = screen.counting.dialog
    qtbot.waitUntil(dialog.isVisible)
    dialog.reason.setCurrentText("aisle 4 shelf count")
    dialog.buttons.accepted.emit()
    settle(desktop, qtbot)
    assert screen.counting.session.items == {} and screen.counting.stack.currentWidget() is screen.counting.empty
    assert "2 products changed" in desktop.window.notice.text
    for pid, qty in ((pa, 3000), (pb, 2000), (pc, before[pc])):
        assert catalog.on_hand_milli(store, pid) == qty
    with store.db.read() as s:
        moves = s.scalars(select(StockMovement).where(StockMovement.reference == ref)).all()
        assert {m.kind for m in moves} == {"count"}
        assert {(m.product_id, m.qty_delta_milli, m.reason) for m in moves} == {
            (pa, 3000 - before[pa], "aisle 4 shelf count"), (pb, 2000 - before[pb], "aisle 4 shelf count"),
            (pc, 0, "aisle 4 shelf count")}
        ops = [op for op in s.scalars(select(OutboxOperation).where(OutboxOperation.type == "stock.adjust"))
               if op.payload["reference"] == ref]
        assert sorted(op.payload["qty_delta_milli"] for op in ops) == sorted(
            [3000 - before[pa], 2000 - before[pb], 0])
        assert {op.payload["product_id"]: op.payload["counted_milli"] for op in ops} == {
            pa: 3000, pb: 2000, pc: before[pc]}
        assert s.scalar(select(AuditEntry).where(AuditEntry.entity_id == pa, AuditEntry.action == "stock.count"))


def test_count_against_a_sale_made_meanwhile(desktop, qtbot, store):
    """Expected is read at the first scan: a sale rung up later is not wiped out by the count."""
    from app.domain.cart import Cart
    from app.domain.tender import Method, Tender
    from app.services import sales

    screen = stock_in(desktop, qtbot)
    a, = well_stocked(store, 1)
    pid = catalog.line_for_scan(store, a).product_id
    expected = catalog.on_hand_milli(store, pid)
    for _ in range(4):
        wedge_burst(a)
    settle(desktop, qtbot)
    cart = Cart(tax_inclusive=True)
    cart.add(catalog.line_for_product(store, pid))
    sales.record_sale(store, staff.sign_in(store, "1003", "3333"), cart, [Tender(Method.CARD, cart.totals().total)])
    ref = screen.counting.session.reference
    screen.counting._commit("shelf count")
    settle(desktop, qtbot)
    assert catalog.on_hand_milli(store, pid) == 4000 - 1000
    with store.db.read() as s:
        move = s.scalars(select(StockMovement).where(StockMovement.reference == ref)).one()
    assert move.qty_delta_milli == 4000 - expected


def test_unknown_barcode_opens_quick_add_then_counts(desktop, qtbot, store):
    screen = stock_in(desktop, qtbot)
    code = with_check_digit("761234567890")
    wedge_burst(code)
    settle(desktop, qtbot)
    dialog = screen.counting.dialog
    qtbot.waitUntil(lambda: dialog is not None and dialog.isVisible())
    assert dialog.objectName() == "quickAddDialog" and dialog.sku.text() == code
    dialog.buttons.accepted.emit()  # empty name: refused next to the form
    assert dialog.isVisible() and "name" in dialog.error.text()
    dialog.name.setText("Oat Milk 1l")
    dialog.price.setText("2.15")
    dialog.buttons.accepted.emit()
    settle(desktop, qtbot, 100)
    line = catalog.line_for_scan(store, code)
    assert line.name == "Oat Milk 1l" and line.unit_price == 215
    assert counted(screen) == {line.product_id: (0, 1000)}


def test_bad_check_digit_is_explained(desktop, qtbot, store):
    screen = stock_in(desktop, qtbot)
    wedge_burst("5400000000011")
    settle(desktop, qtbot)
    assert "check digit" in desktop.window.notice.text.lower()
    assert screen.counting.session.items == {}


def test_receive_and_adjust_forms(desktop, qtbot, store):
    screen = stock_in(desktop, qtbot)
    (a, _), (b, _) = barcodes(store, 2)
    pa, pb = (catalog.line_for_scan(store, x).product_id for x in (a, b))
    before_a, before_b = catalog.on_hand_milli(store, pa), catalog.on_hand_milli(store, pb)
    QTest.keyClick(screen.counting.picker.field, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert screen.tabs.currentIndex() == 1
    wedge_burst(a)
    settle(desktop, qtbot)
    assert screen.receiving.picker.current.id == pa
    screen.receiving.qty.setText("abc")
    screen.receiving.submit()
    assert "not a quantity" in screen.receiving.error.text()
    screen.receiving.qty.setText("12")
    screen.receiving.ref.setText("PO-881")
    QTest.keyClick(screen.receiving.ref, Qt.Key.Key_Return)
    settle(desktop, qtbot)
    assert catalog.on_hand_milli(store, pa) == before_a + 12_000
    assert "PO-881" in screen.receiving.log.item(0).text()

    screen.tabs.setCurrentIndex(2)
    wedge_burst(b)
    settle(desktop, qtbot)
    assert screen.adjusting.picker.current.id == pb
    screen.adjusting.qty.setText("-2")
    screen.adjusting.reason.setCurrentIndex(0)  # damage
    screen.adjusting.note.setText("dropped")
    screen.adjusting.submit()
    settle(desktop, qtbot)
    assert catalog.on_hand_milli(store, pb) == before_b - 2000
    with store.db.read() as s:
        move = s.scalars(select(StockMovement).where(StockMovement.product_id == pb,
                                                     StockMovement.kind == "adjust")).one()
    assert move.reason == "damage: dropped"


def test_low_stock_tab_and_cashier_cannot_see_inventory(desktop, qtbot, store):
    screen = stock_in(desktop, qtbot)
    screen.tabs.setCurrentIndex(3)
    settle(desktop, qtbot)
    low = inventory.low_stock(store)
    assert screen.low_stock.table.rowCount() == len(low) > 0
    assert screen.low_stock.table.item(0, 0).text() == low[0].name
    desktop.window.switch_user()
    sign_in(desktop, qtbot)  # cashier
    assert not desktop.window.nav_buttons["inventory"].isVisible()
    assert not desktop.window.nav_buttons["catalog"].isVisible()


def search_by_name(desktop, qtbot, picker, name: str) -> list[str]:
    """Type ``name`` into a stock screen's search as a person would; the result lines shown."""
    picker.field.setFocus()
    QTest.keyClicks(picker.field, name, Qt.KeyboardModifier.NoModifier, 40)
    qtbot.waitUntil(lambda: picker.results.isVisible(), timeout=5000)
    settle(desktop, qtbot)
    return [picker.results.item(r).text() for r in range(picker.results.count())]


def test_an_inactive_product_is_found_by_name_marked_and_its_stock_handled(desktop, qtbot, store):
    """The till no longer sells it, but it is still on the shelf: count, receive, adjust."""
    (code, name), = barcodes(store, 1)
    pid = catalog.line_for_scan(store, code).product_id
    catalog_edit.update_product(store, staff.sign_in(store, "1002", "222222"), pid, {"active": False})
    before = catalog.on_hand_milli(store, pid)
    screen = stock_in(desktop, qtbot)

    shown = search_by_name(desktop, qtbot, screen.counting.picker, name)
    assert f"{name} (inactive)" in [text.split("    ·    ")[0] for text in shown]
    screen.counting.picker.results.setCurrentRow([t.split("    ·    ")[0] for t in shown].index(f"{name} (inactive)"))
    QTest.keyClick(screen.counting.picker.field, Qt.Key.Key_Return)
    settle(desktop, qtbot)
    assert counted(screen) == {pid: (before, 1000)}

    screen.tabs.setCurrentIndex(1)
    search_by_name(desktop, qtbot, screen.receiving.picker, name)
    QTest.keyClick(screen.receiving.picker.field, Qt.Key.Key_Down)
    row = next(r for r in range(screen.receiving.picker.results.count())
               if screen.receiving.picker.results.item(r).text().startswith(f"{name} (inactive)"))
    screen.receiving.picker.results.setCurrentRow(row)
    QTest.keyClick(screen.receiving.picker.results, Qt.Key.Key_Return)
    assert screen.receiving.picker.current.id == pid
    assert screen.receiving.picker.chosen.text().startswith(f"{name} (inactive)")
    screen.receiving.qty.setText("6")
    screen.receiving.submit()
    settle(desktop, qtbot)
    assert catalog.on_hand_milli(store, pid) == before + 6000

    screen.tabs.setCurrentIndex(2)
    wedge_burst(code)  # a scan finds it too, and says it is inactive
    settle(desktop, qtbot)
    assert screen.adjusting.picker.current.id == pid
    assert "(inactive)" in screen.adjusting.picker.chosen.text()
    screen.adjusting.qty.setText("-1")
    screen.adjusting.submit()
    settle(desktop, qtbot)
    assert catalog.on_hand_milli(store, pid) == before + 5000

    # the register still refuses it
    with pytest.raises(catalog.ProductNotForSale):
        catalog.line_for_product(store, pid)


def test_the_count_table_marks_an_inactive_product(desktop, qtbot, store, tmp_path):
    """Counted by scan or by name, an inactive product's row says so, as the search results do."""
    (code, name), (other, other_name), (third, third_name) = barcodes(store, 3)
    manager = staff.sign_in(store, "1002", "222222")
    pid, third_pid = (catalog.line_for_scan(store, c).product_id for c in (code, third))
    for p in (pid, third_pid):
        catalog_edit.update_product(store, manager, p, {"active": False})
    desktop.window.resize(1280, 800)
    screen = stock_in(desktop, qtbot)
    model = screen.counting.model
    wedge_burst(code)
    wedge_burst(other)
    wedge_burst(code)  # a repeat scan: no database trip, still marked
    settle(desktop, qtbot)
    shown = search_by_name(desktop, qtbot, screen.counting.picker, third_name)
    screen.counting.picker.results.setCurrentRow([t.split("    ·    ")[0] for t in shown].index(
        f"{third_name} (inactive)"))
    QTest.keyClick(screen.counting.picker.field, Qt.Key.Key_Return)
    settle(desktop, qtbot)

    def name_cell(product_id: str, role=Qt.ItemDataRole.DisplayRole):
        return model.index(model.row_of[product_id], 0).data(role)

    other_pid = catalog.line_for_scan(store, other).product_id
    assert [name_cell(p) for p in (pid, other_pid, third_pid)] == [
        f"{name} (inactive)", other_name, f"{third_name} (inactive)"]
    assert counted(screen)[pid][1] == 2000 and counted(screen)[third_pid][1] == 1000
    grey = name_cell(pid, Qt.ItemDataRole.ForegroundRole)
    assert grey is not None and grey == name_cell(third_pid, Qt.ItemDataRole.ForegroundRole)
    assert name_cell(other_pid, Qt.ItemDataRole.ForegroundRole) is None
    assert model.index(model.row_of[pid], 1).data(Qt.ItemDataRole.ForegroundRole) is None  # the name only
    screen.counting.table.selectRow(model.row_of[other_pid])
    settle(desktop, qtbot)
    desktop.window.grab().save(str(tmp_path / "count-inactive.png"))  # what the clerk sees


def test_a_code_typed_into_the_receive_field_is_looked_up_like_a_scan(desktop, qtbot, store):
    """Typed by hand, a known code picks its product and an unknown one offers quick-add."""
    screen = stock_in(desktop, qtbot)
    screen.tabs.setCurrentIndex(1)
    (code, name), = barcodes(store, 1)
    field = screen.receiving.picker.field
    QTest.keyClicks(field, code, Qt.KeyboardModifier.NoModifier, 40)  # slower than a scanner
    QTest.keyClick(field, Qt.Key.Key_Return)
    settle(desktop, qtbot)
    assert screen.receiving.picker.current.name == name and field.text() == ""
    unknown = with_check_digit("761234567891")
    QTest.keyClicks(field, unknown, Qt.KeyboardModifier.NoModifier, 40)
    QTest.keyClick(field, Qt.Key.Key_Return)
    settle(desktop, qtbot)
    qtbot.waitUntil(lambda: screen.receiving.dialog is not None and screen.receiving.dialog.isVisible(), timeout=5000)
    assert screen.receiving.dialog.objectName() == "quickAddDialog" and screen.receiving.dialog.sku.text() == unknown
    screen.receiving.dialog.reject()  # left open, a modal dialog outlives the window and takes later tests' keys
