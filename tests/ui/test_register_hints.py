"""Asked by the till helper (issue 21, run-demo): a fresh till's quick keys are 12 blank
buttons a cashier reads as broken, and the sidebar stays lit on the page an order was
opened from while the order detail shows."""

from __future__ import annotations

from app.domain.cart import Cart
from app.domain.tender import Method, Tender
from app.services import catalog, quick_keys, sales, staff
from app.store.models import Product
from tests.ui.conftest import barcodes, settle, sign_in
from ui.widgets.quick_keys import NO_KEYS, NO_KEYS_EDITOR


def test_no_blank_quick_keys_but_a_hint(desktop, qtbot, store):
    register = desktop.window.register
    panel = register.quick_keys
    sign_in(desktop, qtbot)  # a cashier, on a till with no quick keys yet
    settle(desktop, qtbot, 80)
    assert not panel.grid_box.isVisible() and panel.hint.text() == NO_KEYS
    desktop.window.switch_user()
    sign_in(desktop, qtbot, "1002", "222222")  # who may edit them is told how
    settle(desktop, qtbot, 80)
    assert not panel.grid_box.isVisible() and panel.hint.text() == NO_KEYS_EDITOR
    panel.edit_button.click()  # editing: every key shows, to be chosen
    assert panel.grid_box.isVisible() and all(b.isVisible() and b.text() == "+" for b in panel.buttons)
    panel.edit_button.click()
    manager = staff.sign_in(store, "1002", "222222")
    code, name = barcodes(store, 1)[0]
    quick_keys.set_key(store, manager, 5, product_id=catalog.line_for_scan(store, code).product_id)
    panel.reload()
    settle(desktop, qtbot, 80)
    assert panel.grid_box.isVisible() and panel.hint.text() == ""
    assert [i for i, b in enumerate(panel.buttons) if b.isVisible()] == [5]  # only the key that holds an item
    assert panel.buttons[5].text().startswith(name[:8])


def test_the_order_detail_leaves_no_nav_entry_lit(desktop, qtbot, store):
    cashier = staff.sign_in(store, "1003", "3333")
    cart = Cart(tax_inclusive=True)
    cart.add(catalog.line_for_scan(store, barcodes(store, 1)[0][0]))
    sold = sales.record_sale(store, cashier, cart, [Tender(Method.CASH, cart.totals().total)])
    sign_in(desktop, qtbot, "1002", "222222")
    window = desktop.window
    window.show_screen("orders")
    assert window.nav_buttons["orders"].isChecked()
    desktop.ctx.show_order(sold.order_id)
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.order_detail, timeout=5000)
    assert window.nav_group.checkedButton() is None
    window.order_detail.back.emit()
    assert window.pages.currentWidget() is window.orders_browser and window.nav_buttons["orders"].isChecked()


def test_a_key_name_is_cut_to_the_key_not_clipped_at_both_ends(desktop, qtbot, store):
    manager = staff.sign_in(store, "1002", "222222")
    code, _name = barcodes(store, 1)[0]
    product = catalog.line_for_scan(store, code)
    long_name = f"{product.name} Extra Large Family Pack"
    with store.db.write() as s:  # a name longer than a 1024-pixel till's key
        s.get(Product, product.product_id).name = long_name
    quick_keys.set_key(store, manager, 0, product_id=product.product_id)
    window = desktop.window
    sign_in(desktop, qtbot, "1002", "222222")
    key = window.register.quick_keys.buttons[0]
    seen = []
    for width in (1024, 1366):
        window.resize(width, 736)
        settle(desktop, qtbot, 80)
        shown = key.text().split("\n")[0]
        assert key.fontMetrics().horizontalAdvance(shown) <= key.width(), (width, shown)
        assert shown.endswith("…") and long_name.startswith(shown[:-1]), (width, shown)
        assert key.toolTip() == long_name
        seen.append(shown)
    assert len(seen[1]) > len(seen[0])  # a wider key shows more of the name
