"""Till limits end to end (issue 14, item 6): the store's limits set on the server reach a
real till in its pull; a real till's sale past the cashier's limit, approved at the till
by a manager's PIN, is pushed with the manager's proof and applied by the real server;
the same sale forged without an approver is rejected there in words."""

from __future__ import annotations

from datetime import UTC, datetime

from app.domain.cart import Cart, CartLine
from app.domain.ids import new_id
from app.domain.permissions import Role
from app.domain.tender import Method, Tender
from app.domain.totals import Discount
from app.services import till_limits
from app.services.sales import record_sale
from server.db.models import Order
from tests.sync.conftest import BACKENDS


def _cart(percent_ppm: int) -> Cart:
    cart = Cart(tax_inclusive=True)
    cart.add(CartLine(product_id=None, sku=None, name="Wool scarf", unit_price=2000,
                      tax_rate_ppm=200_000))
    cart.set_line_discount(0, Discount(percent_ppm=percent_ppm))
    return cart


@BACKENDS
def test_limits_reach_the_till_and_an_approved_sale_is_applied(till_factory, tenant) -> None:
    till = till_factory("A")
    with tenant.server.client() as c:
        r = c.patch(f"/stores/{tenant.store_id}", headers=tenant.login(Role.OWNER),
                    json={"till_limits": {"line_discount_ppm": {"cashier": 150_000}}})
        assert r.status_code == 200, r.text
    till.sync()
    limits = till_limits.limits(till.store)
    assert limits.line_limit(Role.CASHIER) == 150_000  # from the store's feed state
    cashier, manager = till.actor(Role.CASHIER), till.actor(Role.MANAGER)
    assert till_limits.sale_breaches(till.store, cashier, _cart(150_000)) == []
    cart = _cart(600_000)
    sale = record_sale(till.store, cashier, cart, [Tender(Method.CARD, cart.totals().total)],
                       approver=manager)
    report = till.sync()
    assert report.push.rejected == [] and report.push.applied >= 1, report.push
    with tenant.server.ctx.reader() as s:
        order = s.get(Order, sale.order_id)
        assert order is not None and order.discount == cart.totals().discount
        assert "unverified_approval" not in (order.flags or [])

    term = tenant.enroll(name="Forger")  # the same sale, sent without its approver
    total = cart.totals()
    line = total.lines[0]
    op = term.op("order.create", new_id(), tenant.staff[Role.CASHIER], {
        "reference": f"GO-{term.device_code}0001", "store_id": tenant.store_id,
        "currency": "EUR", "tax_inclusive": True,
        "lines": [{"id": new_id(), "product_id": None, "sku": None, "name": "Wool scarf",
                   "unit_price": 2000, "qty_milli": 1000, "tax_rate_ppm": 200_000,
                   "discount_percent_ppm": 600_000, "discount_amount": 0, "gross": line.gross,
                   "net": line.net, "tax": line.tax, "total": line.total}],
        "subtotal": total.subtotal, "discount": total.discount, "tax": total.tax,
        "total": total.total, "created_at": datetime.now(UTC).isoformat()})
    [result] = term.push([op])["results"]
    assert result["status"] == "rejected"
    assert "over a cashier's 15 % line limit" in result["reason"]
