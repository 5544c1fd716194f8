"""The rows order_decision.decide gives are the payload's values as the models dump them.

The decision reads a parsed sale's lines and payments without pydantic's serializer
(``li.__dict__``; server/sync/order_decision.py): a line row must still be
``li.model_dump()`` with its order id and position, a payment.received event's data
``jsonable(pay.model_dump())``, the order state's payments in (created_at, id) order,
whatever the payload holds (discounts, optional fields, a customer, installments, two
payments sent newest first, one in another time zone)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from app.domain.ids import new_id
from server.sync.common import jsonable
from server.sync.order_decision import Applied, decide
from sync.payloads import OrderCreate
from tests.server.test_order_decision import NOW, ORG, STORE, Product, Read, _env, _payload


def _sale() -> tuple[dict, Read, object]:
    milk, bread = new_id(), new_id()
    read = Read(products={milk: Product(ORG, 150), bread: Product(ORG, 99)},
                levels={(STORE, milk): 5000})
    env = _env(role="manager")
    payload = _payload(env.order_id, [(milk, 150, 1000), (bread, 99, 2000), (None, 10, 1000)])
    total = payload["total"]
    later = (NOW + timedelta(minutes=3)).astimezone(timezone(timedelta(hours=2)))
    payload["lines"][0] |= {"sku": "MILK-1", "barcode": "4006381333931"}
    payload["lines"][1] |= {"discount_percent_ppm": 0, "discount_amount": 0}
    payload["payments"] = [  # newest first; the state lists them oldest first
        {"id": new_id(), "order_id": env.order_id, "method": "card", "amount": total - 100,
         "tendered": total - 100, "created_at": later.isoformat(),
         "installment_id": None},
        {"id": new_id(), "order_id": env.order_id, "method": "cash", "amount": 100,
         "tendered": 500, "change": 400, "created_at": NOW.isoformat()},
    ]
    payload["customer"] = {"id": new_id(), "name": "Ada", "phone": "+3312345678"}
    payload["note"] = "by the window"
    return payload, read, env


def test_line_rows_and_payment_events_are_the_models_dumps() -> None:
    payload, read, env = _sale()
    d = decide(payload, env, read)  # type: ignore[arg-type]
    assert isinstance(d, Applied), d
    p = OrderCreate.model_validate(payload)
    after = [4000, -2000, None]  # each line's sale movement: the level after it
    assert d.lines == [li.model_dump() | {"order_id": env.order_id, "position": pos,  # type: ignore[attr-defined]
                                          "stock_after_milli": after[pos]}
                       for pos, li in enumerate(p.lines)]
    assert [list(row) for row in d.lines] == [
        list(li.model_dump()) + ["order_id", "position", "stock_after_milli"]
        for li in p.lines]
    paid = [data for kind, data in d.events if kind == "payment.received"]
    assert [e["payment"] for e in paid] == [jsonable(pay.model_dump()) for pay in p.payments]
    assert [list(e["payment"]) for e in paid] == [list(pay.model_dump()) for pay in p.payments]
    assert [pay["method"] for pay in d.state["payments"]] == ["cash", "card"]
    assert d.order["installments"] == [] and d.order["customer"]["name"] == "Ada"


def test_one_payment_and_installments() -> None:
    payload, read, env = _sale()
    payload["payments"] = payload["payments"][1:]
    due = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    payload["installments"] = [{"id": new_id(), "number": 1, "due_date": due,
                                "amount": payload["total"] - 100}]
    d = decide(payload, env, read)  # type: ignore[arg-type]
    assert isinstance(d, Applied), d
    p = OrderCreate.model_validate(payload)
    assert d.order["installments"] == jsonable([i.model_dump() for i in p.installments])
    assert d.order["installments"][0]["due_date"] == due
    assert [pay["id"] for pay in d.state["payments"]] == [p.payments[0].id]
