"""One payments row builder (app/store/rows.py payment_row) for the till's services and the
pull's apply: a sale's tenders, a later payment and a refund write the columns it fills,
with the actor, till and time of the mutation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select

from app.domain.cart import Cart, CartLine
from app.domain.permissions import Role
from app.domain.tender import Method, Tender
from app.services.sales import record_payment, record_sale
from app.store.models import Order, Payment
from app.store.rows import payment_row

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_a_new_payment_gets_an_id_and_tenders_its_amount() -> None:
    row = payment_row("order-1", "card", 450, actor_id="a", device_id="d", created_at=AT)
    assert uuid.UUID(row.pop("id"))
    assert row == {"order_id": "order-1", "method": "card", "amount": 450, "tendered": 450,
                   "change": 0, "installment_id": None, "actor_id": "a", "device_id": "d",
                   "created_at": AT}
    assert set(row) | {"id"} == {c.name for c in Payment.__table__.columns}
    pulled = payment_row("o", "cash", 100, payment_id="p-1", tendered=200, change=100,
                         installment_id="i-1", actor_id="a", device_id="d", created_at=AT)
    assert (pulled["id"], pulled["tendered"], pulled["change"], pulled["installment_id"]) == (
        "p-1", 200, 100, "i-1")


def test_sale_and_later_payment_rows_are_the_builders(store, actors) -> None:
    cashier = actors[Role.CASHIER]
    cart = Cart(tax_inclusive=True)
    cart.add(CartLine(product_id=None, sku=None, name="Lamp", unit_price=1000,
                      tax_rate_ppm=200_000, qty_milli=1000))
    sale = record_sale(store, cashier, cart, [Tender(Method.CASH, 300)])
    record_payment(store, cashier, sale.order_id, Tender(Method.CASH, 1000))
    with store.db.read() as s:
        order = s.get(Order, sale.order_id)
        rows = s.scalars(select(Payment).where(Payment.order_id == sale.order_id)
                         .order_by(Payment.created_at, Payment.amount)).all()
        got = [{c.name: getattr(p, c.name) for c in Payment.__table__.columns} for p in rows]
    assert len(got) == 2
    for row, (amount, tendered, change) in zip(got, [(300, 300, 0), (700, 1000, 300)],
                                               strict=True):
        expected = payment_row(sale.order_id, "cash", amount, payment_id=row["id"],
                               tendered=tendered, change=change, actor_id=cashier.staff_id,
                               device_id=order.device_id, created_at=row["created_at"])
        assert row == expected
