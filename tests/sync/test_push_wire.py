"""The push sends the outbox's stored JSON as it is (sync/push.py ``load_pending``): what
goes on the wire must be what the models wrote before, personal data opened, odd rows
(NaN, an id that is not a UUID, an approval proof) as the model writes them; pending
rows read in op_seq order from the first pending one; results stored as the model
dumps them."""

from __future__ import annotations

import json
import uuid
import warnings
from collections.abc import Callable
from typing import Any

import orjson
from sqlalchemy import select, text

from app.domain.permissions import Action, Role
from app.services import approvals, staff
from app.services.customers import CustomerDetails
from app.services.sales import record_sale
from app.store.models import OutboxOperation, Staff
from sync.client import push_body
from sync.protocol import JournalHead, OperationResult, OpStatus
from sync.push import load_batch, load_pending, result_json
from tests.server.support import PINS
from tests.sync.conftest import Till

HEAD = JournalHead(seq=3, hash="ab" * 32)


def _sale_with_customer(till: Till, name: str) -> None:
    from app.domain.cart import Cart, CartLine
    from app.domain.tender import Method, Tender

    cart = Cart(tax_inclusive=True)
    cart.add(CartLine(product_id=None, sku=None, name="Café ☕ \"sealed\" \\ ok", unit_price=310,
                      tax_rate_ppm=200_000, qty_milli=1500))
    record_sale(till.store, till.actor(), cart, [Tender(Method.CASH, cart.totals().total)],
                customer=CustomerDetails(None, name, "+44 7700 900123", "ann@example.com"),
                note="paid in coins; sealed bag")


def _odd_row(till: Till, seq: int, payload: str, entity_id: str = "not-a-uuid",
             proof: str | None = None) -> None:
    """A row no till code writes: a payload with NaN, an id that is not a UUID."""
    with till.store.db.write() as s:
        s.execute(text(
            "INSERT INTO outbox (op_id, op_seq, type, entity_id, actor_id, device_id, "
            "created_at, base_version, format_version, payload, approval_proof, status, "
            "attempts, updated_at) "
            "VALUES (:id, :seq, 'stock.adjust', :entity, 'actor', 'device', "
            "'2026-01-02 03:04:05.000000', 0, 1, :payload, :proof, 'pending', 0, "
            "'2026-01-02 03:04:05.000000')"),
            {"id": f"odd-{seq}", "seq": seq, "entity": entity_id, "payload": payload,
             "proof": proof})


def _wire(ops: list[Any]) -> list[dict[str, Any]]:
    return [orjson.loads(op.wire) for op in ops]


def test_the_wire_is_what_the_models_wrote(till_factory: Callable[..., Till]) -> None:
    till = till_factory()
    sale = till.sell(pay=False)
    assert not till.sync().push.rejected  # staff and their salts arrive by pull
    codes = {}
    with till.store.db.read() as s:
        for role in (Role.CASHIER, Role.MANAGER):
            person = s.get(Staff, till.tenant.staff[role])
            assert person is not None
            codes[role] = person.code
    cashier = staff.sign_in(till.store, codes[Role.CASHIER], PINS[Role.CASHIER])
    manager = staff.verify_override(till.store, codes[Role.MANAGER], PINS[Role.MANAGER],
                                    Action.ORDER_DELETE)
    approvals.delete_with_override(till.store, cashier, manager, sale.order_id, "left")
    _sale_with_customer(till, "Zoë O'Brien")
    till.sell(price=120, name="Tea")
    last = max(op.op_seq for op in load_batch(till.store))
    _odd_row(till, last + 1, '{"product_id": "p", "qty_delta": NaN, "big": 123456789012345678901}')
    _odd_row(till, last + 2, '{"product_id": "p", "qty_delta": 1, "reason": "x"}')
    proof = {"kind": "offline", "by": str(uuid.uuid4()), "mac": "0f" * 32}
    _odd_row(till, last + 3, '{"product_id": "p", "qty_delta": 2}', proof=json.dumps(proof))

    # the rows the wire model refuses dump without a serializer warning (the model holds
    # the OpType and ApprovalProof its serializer expects), in the push's body too
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        models, pending = load_batch(till.store), load_pending(till.store)
        dumped = [orjson.loads(op.model_dump_json()) for op in models]
        new = orjson.loads(push_body(pending, HEAD))
        old = orjson.loads(push_body(models, HEAD))
    assert not [w for w in caught if "serializ" in str(w.message)], caught[0].message
    assert [op.op_seq for op in pending] == [op.op_seq for op in models] == list(
        range(models[0].op_seq, last + 4))
    assert {op.type for op in models} >= {"order.delete", "order.create", "stock.adjust"}
    assert _wire(pending) == dumped
    assert any(op.approval_proof is not None for op in models)
    signed = orjson.loads(next(op for op in pending if op.op_id == f"odd-{last + 3}").wire)
    assert signed["approval_proof"] == proof and signed["type"] == "stock.adjust"
    assert signed["entity_id"] == "not-a-uuid"  # sent as it is, for the server to refuse

    assert abs(new.pop("oldest_pending_age_s") - old.pop("oldest_pending_age_s")) < 5
    assert new == old and list(new) == ["protocol", "operations", "journal_head"]

    # personal data: sealed in the store, in clear on the wire (as the server needs it)
    sold = next(w for w in _wire(pending) if (w["payload"].get("customer") or {}).get("name"))
    assert sold["payload"]["customer"]["name"] == "Zoë O'Brien"
    with till.store.db.read() as s:
        stored = s.execute(text("SELECT payload FROM outbox WHERE op_id = :id"),
                           {"id": sold["op_id"]}).scalar_one()
    # (words with characters base64 has not: "Zo" alone turns up in the ciphertext by chance)
    assert "O'Brien" not in stored and "7700 900123" not in stored
    assert "ann@example.com" not in stored and '"sealed"' in stored
    # NaN goes as null, as the model writes it; an integer past 64 bits as it is
    odd = next(op for op in pending if op.op_id == f"odd-{last + 1}")
    assert orjson.loads(odd.wire)["payload"]["qty_delta"] is None
    assert odd.payload["big"] == 123456789012345678901
    plain = next(op for op in pending if op.op_id == f"odd-{last + 2}")
    assert plain.payload == {"product_id": "p", "qty_delta": 1, "reason": "x"}
    assert plain.created_at.isoformat() == "2026-01-02T03:04:05+00:00"
    assert orjson.loads(plain.wire)["created_at"] == "2026-01-02T03:04:05Z"


def test_pending_rows_in_op_seq_order_from_the_first_pending(
        till_factory: Callable[..., Till]) -> None:
    till = till_factory()
    for i in range(6):
        till.sell(price=100 + i)  # op 1: the shift its first sale opened
    with till.store.db.write() as s:
        s.execute(text("UPDATE outbox SET status = 'done' WHERE op_seq IN (1, 2)"))
        s.execute(text("UPDATE outbox SET status = 'rejected' WHERE op_seq = 4"))
    assert [op.op_seq for op in load_pending(till.store)] == [3, 5, 6, 7]
    assert [op.op_seq for op in load_pending(till.store, 2)] == [3, 5]
    assert [op.op_seq for op in load_pending(till.store, 2, after_seq=3)] == [5, 6]
    assert [op.op_seq for op in load_batch(till.store, 10, after_seq=5)] == [6, 7]
    with till.store.db.write() as s:
        s.execute(text("UPDATE outbox SET status = 'done'"))
    assert load_pending(till.store) == [] and load_batch(till.store) == []


def test_a_stored_result_is_the_models_dump(till_factory: Callable[..., Till]) -> None:
    for res in (OperationResult(op_id="a", op_seq=1, status=OpStatus.APPLIED, entity_id="e",
                                version=3, flags=["price_changed", "negative_stock"]),
                OperationResult(op_id="b", op_seq=2, status=OpStatus.DUPLICATE, entity_id="é",
                                reason="seen \"before\"", conflict_id="c")):
        assert json.loads(result_json(res)) == res.model_dump(mode="json")
    till = till_factory()
    till.sell(price=100)
    assert not till.sync().push.rejected
    with till.store.db.read() as s:
        rows = list(s.scalars(select(OutboxOperation).order_by(OutboxOperation.op_seq)))
    assert [r.status for r in rows] == ["done", "done"]
    assert [(r.result or {}).get("status") for r in rows] == ["applied", "applied"]
    assert set(rows[1].result or {}) == set(OperationResult.model_fields)
