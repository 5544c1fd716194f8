"""The payloads the till pushes, captured from every service that emits an operation and
compared with a golden taken before the services built them through the payload models
(issue 13): building through the models must not change what goes on the wire.

Ids are numbered by first appearance (links between payloads stay checked), datetimes
keep their shape (``+00:00`` stays ``+00:00``). ``NEW_DEFAULTS`` names the only keys a
payload may now carry that the golden lacks: a model field the service did not send,
at its default value (the server read that default before too).

Regenerate the golden (only for an intended wire change): ``TILLSYNC_GOLDEN=write pytest
tests/app/test_wire_payloads.py``.
"""

from __future__ import annotations

import json
import os
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app import demo
from app.domain.barcode import with_check_digit
from app.domain.cart import Cart
from app.domain.schedule import Interval, make_plan
from app.domain.tender import Method, Tender
from app.services import (
    approvals,
    catalog,
    catalog_csv,
    catalog_edit,
    inventory,
    order_edits,
    payment_plans,
    sales,
    shifts,
    staff,
)
from app.services.approvals import RefundItem
from app.services.customers import CustomerDetails
from app.services.order_edits import LineChange
from app.store.local import LocalStore, open_store
from app.store.models import Order, OutboxOperation
from app.store.outbox_crypto import open_payload

GOLDEN = Path(__file__).with_name("wire_payloads.golden.json")
#: (operation type, key) a payload may now carry at its default value: none so far
#: besides those listed here, each a field of the type's payload model.
NEW_DEFAULTS: dict[tuple[str, str], Any] = {
    ("product.create", "stock_tracked"): True,  # a CSV import's create (quick-add sent it)
    ("order.create", "price_overrides"): [],  # till limits (issue 14)
    ("order.create", "approved_by"): None,
    ("refund.create", "without_receipt"): False,
    ("stock.adjust", "counted_milli"): None,  # exact counts (issue 18): a count sends both
    ("stock.adjust", "count_id"): None,
}
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(?P<tz>Z|[+-]\d\d:\d\d)?$")


def _sale(store: LocalStore, actor: Any, tenders: list[Tender] | None = None, **kw: Any) -> Any:
    cart = Cart(tax_inclusive=True)
    for p in catalog.search(store, "Harbour")[:2]:
        cart.add(catalog.line_for_product(store, p.id, 2000))
    paid = [Tender(Method.CARD, cart.totals().total)] if tenders is None else tenders
    return sales.record_sale(store, actor, cart, paid, **kw)


def _scenario(store: LocalStore) -> None:
    """One of each thing the till syncs (the brief's list)."""
    p = {code: staff.sign_in(store, code, pin) for _, code, _, pin in demo.DEMO_STAFF}
    owner, manager, cashier, stock = p["1001"], p["1002"], p["1003"], p["1004"]
    # a sale with a customer, a payment plan and a split down payment
    cart = Cart(tax_inclusive=True)
    for q in catalog.search(store, "Harbour")[:2]:
        cart.add(catalog.line_for_product(store, q.id, 3000))
    total = cart.totals().total
    plan = make_plan(total, 600, 2, date(2026, 1, 15), Interval.MONTHLY)
    who = CustomerDetails(None, "Ann Lee", "+48 600 100 200", "ann@example.com")
    planned = sales.record_sale(store, cashier, cart, [Tender(Method.CASH, 250),
                                                       Tender(Method.CARD, 350)],
                                customer=who, note="deliver Friday", plan=plan)
    # a later payment on it (an installment)
    status = payment_plans.plan_status(store, planned.order_id)
    assert status is not None
    sales.record_payment(store, cashier, planned.order_id, Tender(Method.CARD, 200),
                         payment_plans.next_installment_id(status))
    # an order edit: customer (no email now), note and a line on a pending order
    pending = _sale(store, cashier, [Tender(Method.CASH, 100)])
    with store.db.read() as s:
        line_id = s.get_one(Order, pending.order_id).lines[0].id
    order_edits.edit_order(store, manager, pending.order_id,
                           customer=CustomerDetails(None, "Bo Ek", "+48 600 300 400"),
                           note="call first", lines=[LineChange(line_id, 1000)], reason="asked")
    # a deletion via override (an unpaid sale)
    unpaid = _sale(store, cashier, [])
    approvals.delete_with_override(store, cashier, manager, unpaid.order_id, "walked out")
    # a refund via override, and a rejected refund request
    paid = _sale(store, cashier)
    with store.db.read() as s:
        first = s.get_one(Order, paid.order_id).lines[0]
        item = RefundItem(first.id, 1000)
    approvals.refund_with_override(store, cashier, manager, paid.order_id, [item], "broken")
    asked = approvals.request_refund(store, cashier, paid.order_id, [item], "changed mind",
                                     method="cash", restock=False)
    approvals.decide(store, manager, asked, False, note="outside the return window")
    # stock: receive, adjust, count
    product = catalog.search(store, "Harbour")[0]
    inventory.receive(store, stock, product.id, 12000, "PO-17")
    inventory.adjust(store, stock, product.id, -1000, inventory.AdjustReason.DAMAGE, "dropped")
    count = inventory.CountSession(store, reference="COUNT-GOLDEN")
    count.set_count(product.id, 3000)
    inventory.commit_count(store, stock, count)
    # catalog: quick-add, an edit with a price change, a CSV import (create + update)
    new = catalog_edit.quick_add(store, stock, catalog_edit.NewProduct(
        "QA-1", "Quick Tea", 350, 230_000, (with_check_digit("590123412399"),), "Tea"))
    catalog_edit.update_product(store, owner, new, {"price": 399, "name": "Quick Tea 2"}, "typo")
    text = ("sku,name,price,tax_rate,barcodes,category,reorder_level,active,sold_by_weight\n"
            f"B1,Oat Milk,1.99,0,{with_check_digit('590123412345')},Dairy,2,yes,no\n"
            f"{product.sku},{product.name},9.99,23,,,,,\n")
    report = catalog_csv.import_csv(store, owner, text, source="golden.csv")
    assert (report.created, report.updated, report.errors) == (1, 1, [])
    # an import that changes nothing still leaves its operation
    catalog_csv.import_csv(store, owner, f"sku,name,price,tax_rate\n{product.sku},{product.name},9.99,23\n",
                           source="again.csv")


def _normalised(ops: list[tuple[str, str, dict[str, Any]]]) -> list[dict[str, Any]]:
    ids: dict[str, str] = {}

    def norm(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: norm(x) for k, x in v.items()}
        if isinstance(v, list):
            return [norm(x) for x in v]
        if isinstance(v, str) and UUID.match(v):
            return ids.setdefault(v, f"<id {len(ids)}>")
        if isinstance(v, str) and (m := DATETIME.match(v)):
            return f"<datetime{m['tz'] or ''}{'.' if m[1] else ''}>"
        return v

    return [{"type": t, "entity_id": norm(e), "payload": norm(p)} for t, e, p in ops]


def _captured(store: LocalStore, after: int | None) -> list[dict[str, Any]]:
    """The ops after op_seq ``after``, their ids numbered from the first of them."""
    with store.db.read() as s:
        rows = s.scalars(select(OutboxOperation).where(OutboxOperation.op_seq > (after or 0))
                         .order_by(OutboxOperation.op_seq)).all()
        ops = [(r.type, r.entity_id, open_payload(store.cipher, r.payload)) for r in rows]
    return _normalised(ops)


@pytest.fixture
def wire(tmp_path: Path) -> list[dict[str, Any]]:
    store = open_store(tmp_path / "wire", passphrase="test-passphrase")
    try:
        demo.seed(store, 80)
        # selling needs an open shift: opened here, like the demo's rows not part of the
        # scenario (a shift's own ops are pinned by tests/app/test_shifts.py)
        shifts.open_shift(store, staff.sign_in(store, "1003", "3333"), 0)
        with store.db.read() as s:  # the demo's own rows are not part of the scenario
            start = s.scalar(select(OutboxOperation.op_seq).order_by(OutboxOperation.op_seq.desc()))
        _scenario(store)
        return _captured(store, start)
    finally:
        store.close()


def _without_new_defaults(op: dict[str, Any], golden: dict[str, Any]) -> dict[str, Any]:
    payload = dict(op["payload"])
    for (op_type, key), default in NEW_DEFAULTS.items():
        if op["type"] == op_type and key not in golden["payload"] and key in payload:
            assert payload.pop(key) == default, f"{op_type}.{key} is not at its default"
    return op | {"payload": payload}


def test_the_till_pushes_the_same_payloads_as_before(wire: list[dict[str, Any]]) -> None:
    if os.environ.get("TILLSYNC_GOLDEN") == "write":
        GOLDEN.write_text(json.dumps(wire, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert [o["type"] for o in wire] == [o["type"] for o in golden]
    for op, before in zip(wire, golden, strict=True):
        assert _without_new_defaults(op, before) == before, op["type"]
