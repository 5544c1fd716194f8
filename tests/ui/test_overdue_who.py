"""The overdue installments list says who owes each one, name and phone, read whole at
1024x768 and 1366x768: the person chasing a payment calls them (the list showed only the
order's reference). The customer's data is sealed in the store and read through
app.services.customers. TILLSYNC_WRITE_SCREENSHOTS=1 writes
docs/screenshots/looked-at-overdue-<size>.png."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from app.domain.cart import Cart
from app.domain.schedule import Interval, make_plan
from app.domain.tender import Method, Tender
from app.services import catalog, customers, sales, staff
from app.services.customers import CustomerDetails
from app.store.models import Customer
from tests.ui.conftest import barcodes, settle, sign_in
from tests.ui.test_manager_flows import make_sale
from tests.ui.test_screens_looked_at import _resize, _shot, unreadable_cells
from ui.screens.overdue import COLUMNS


def plan_sale(store, name: str, phone: str) -> sales.SaleResult:
    """A sale on a three-month plan started 40 days ago: its first installment is late."""
    cart = Cart(tax_inclusive=True)
    cart.add(catalog.line_for_scan(store, barcodes(store, 1)[0][0]))
    total = cart.totals().total
    plan = make_plan(total, total // 5, 3, date.today() - timedelta(days=40), Interval.MONTHLY)
    return sales.record_sale(store, staff.sign_in(store, "1003", "3333"), cart,
                             [Tender(Method.CARD, total // 5)], CustomerDetails(None, name, phone), plan=plan)


def test_each_overdue_installment_names_its_customer_and_phone(desktop, qtbot, store, tmp_path):
    sale = plan_sale(store, "Aoife Byrne", "+353 87 765 4321")
    other = plan_sale(store, "Seán Ó Briain-Mac Giolla Phádraig", "+353 1 555 0199")
    with store.db.read() as s:  # sealed at rest: the list cannot read them from the row
        sealed = [c.name_enc for c in s.scalars(select(Customer))]
    assert sealed and all("Aoife" not in str(v) for v in sealed)
    sign_in(desktop, qtbot, "1003", "3333")
    screen = desktop.window.overdue
    for width in (1024, 1366):
        _resize(desktop, qtbot, width)
        desktop.window.show_screen("overdue")
        settle(desktop, qtbot, 120)
        table = screen.table
        shown = {(table.item(r, 0).text(), table.item(r, COLUMNS.index("Customer")).text(),
                  table.item(r, COLUMNS.index("Phone")).text()) for r in range(table.rowCount())}
        assert (sale.reference, "Aoife Byrne", "+353 87 765 4321") in shown, shown
        assert (other.reference, "Seán Ó Briain-Mac Giolla Phádraig", "+353 1 555 0199") in shown, shown
        assert not table.horizontalScrollBar().isVisible(), width
        assert unreadable_cells(table) == [], width
        _shot(desktop, "overdue", (width, 768))
        desktop.window.grab().save(str(tmp_path / f"overdue-{width}.png"))
        desktop.window.show_screen("register")


def test_customers_of_orders_skips_an_order_without_one(store):
    with_one = make_sale(store, paid=False, customer="Aoife Byrne")
    without = make_sale(store, paid=False)
    found = customers.customers_of_orders(store, [with_one.order_id, without.order_id])
    assert set(found) == {with_one.order_id}
    assert (found[with_one.order_id].name, found[with_one.order_id].phone) == ("Aoife Byrne", "+353 87 765 4321")
    assert customers.customers_of_orders(store, []) == {}
