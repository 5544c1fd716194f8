"""Deletions and refunds with approval, and edits of pending orders, on the terminal."""

import pytest
from sqlalchemy import select

from app import demo
from app.domain.cart import Cart
from app.domain.money import div_round
from app.domain.permissions import PermissionDenied
from app.domain.tender import Method, Tender
from app.services import approvals, catalog, order_detail, order_edits, sales, staff
from app.services.customers import CustomerDetails
from app.store.audit import verify_chain
from app.store.local import open_store
from app.store.models import AuditEntry, Order, OutboxOperation


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    s = open_store(tmp_path_factory.mktemp("aft"), passphrase="test-passphrase")
    demo.seed(s, 80)
    yield s
    s.close()


@pytest.fixture(scope="module")
def people(store):
    return {code: staff.sign_in(store, code, pin) for _, code, _, pin in demo.DEMO_STAFF}


def _sale(store, actor, paid: bool):
    cart = Cart(tax_inclusive=True)
    for p in catalog.search(store, "Harbour")[:2]:
        cart.add(catalog.line_for_product(store, p.id, 2000))
    tenders = [Tender(Method.CARD, cart.totals().total)] if paid else []
    return sales.record_sale(store, actor, cart, tenders)


def _last_op(store):
    with store.db.read() as s:
        return s.scalars(select(OutboxOperation).order_by(OutboxOperation.op_seq.desc())).first()


def test_deletion_request_then_manager_approval_soft_deletes_with_reason(store, people):
    cashier, manager = people["1003"], people["1002"]
    sale = _sale(store, cashier, paid=False)
    approval_id = approvals.request_deletion(store, cashier, sale.order_id, "customer walked out")
    assert [p.id for p in approvals.pending(store)] == [approval_id]
    with pytest.raises(PermissionDenied):
        approvals.decide(store, cashier, approval_id, True)
    approvals.decide(store, manager, approval_id, True)
    with store.db.read() as s:
        order = s.get(Order, sale.order_id)
        assert order.status == "deleted" and order.deleted_reason == "customer walked out"
        trail = s.scalars(select(AuditEntry).where(AuditEntry.entity_id == sale.order_id)).all()
        assert any(e.changes.get("status", {}).get("after") == "deleted" for e in trail)
        assert verify_chain(s, store.device_id) == []
    op = _last_op(store)
    assert op.type == "order.delete" and op.payload["approved_by"] == manager.staff_id
    assert approvals.pending(store) == []
    # The order's trail tells the whole story: asked (why), approved, deleted.
    trail = order_detail.order_detail(store, sale.order_id).audit
    assert [(e.action, e.by) for e in trail][-3:] == [
        ("order.delete.request", "Cass Cashier"), ("approval.decide", "Max Manager"),
        ("approval.decide", "Max Manager")]
    assert trail[-3].reason == "customer walked out"


def test_deletion_needs_reason_and_paid_order_is_refunded_not_deleted(store, people):
    cashier = people["1003"]
    sale = _sale(store, cashier, paid=True)
    with pytest.raises(approvals.ApprovalError, match="reason"):
        approvals.request_deletion(store, cashier, sale.order_id, "  ")
    with pytest.raises(approvals.ApprovalError, match="refund"):
        approvals.request_deletion(store, cashier, sale.order_id, "mistake")


def test_partial_refund_with_pin_override_restocks_and_flows_into_totals(store, people):
    cashier, owner = people["1003"], people["1001"]
    sale = _sale(store, cashier, paid=True)
    with store.db.read() as s:
        line = s.get(Order, sale.order_id).lines[0]
        line_id, product_id, line_total = line.id, line.product_id, line.total
    stock_before = catalog.on_hand_milli(store, product_id)
    approvals.refund_with_override(store, cashier, owner, sale.order_id,
                                   [approvals.RefundItem(line_id, 1000)], "damaged box")
    assert catalog.on_hand_milli(store, product_id) == stock_before + 1000
    with store.db.read() as s:
        order = s.get(Order, sale.order_id)
        assert order.refunded == div_round(line_total * 1000, 2000)
        assert order.status == "completed"
        assert sum(p.amount for p in order.payments) == order.paid - order.refunded
    op = _last_op(store)
    assert op.type == "refund.create" and op.payload["restock"] is True
    with pytest.raises(approvals.ApprovalError, match="at most"):
        approvals.request_refund(store, cashier, sale.order_id, [approvals.RefundItem(line_id, 2000)], "again")


def test_rejected_request_changes_nothing_but_the_request(store, people):
    cashier, manager = people["1003"], people["1002"]
    sale = _sale(store, cashier, paid=False)
    approval_id = approvals.request_deletion(store, cashier, sale.order_id, "test")
    approvals.decide(store, manager, approval_id, False, note="order is fine")
    with store.db.read() as s:
        assert s.get(Order, sale.order_id).status == "pending"
    assert _last_op(store).type == "approval.decide"
    with pytest.raises(approvals.ApprovalError, match="already rejected"):
        approvals.decide(store, manager, approval_id, True)


def test_edit_pending_order_records_field_level_trail(store, people):
    cashier, manager = people["1003"], people["1002"]
    sale = _sale(store, cashier, paid=False)
    with store.db.read() as s:
        line_id = s.get(Order, sale.order_id).lines[0].id
    with pytest.raises(PermissionDenied):
        order_edits.edit_order(store, cashier, sale.order_id, note="x")
    changes = order_edits.edit_order(
        store, manager, sale.order_id,
        customer=CustomerDetails(None, "Aoife Byrne", "+353 86 123 4567"),
        lines=[order_edits.LineChange(line_id, 1000)], reason="customer changed mind")
    assert set(changes) == {"customer", "lines", "total"}
    assert changes["customer"]["after"]["name"] == "Aoife Byrne"
    assert changes["total"]["after"] < changes["total"]["before"]
    op = _last_op(store)
    assert op.type == "order.update"
    assert op.payload["fields"]["total"]["base"] == sale.total
    assert op.payload["fields"]["customer"]["value"]["name"] == "Aoife Byrne"
    trail = order_detail.order_detail(store, sale.order_id).audit
    assert trail[-1].changes["customer"]["after"]["phone"] == "+353 86 123 4567"
    # Neither the outbox nor the audit log keeps the customer's details in clear.
    # The database file and its WAL together hold every byte written so far.
    raw = b"".join(p.read_bytes() for p in store.db.path.parent.glob("tillsync.sqlite*"))
    assert b"Aoife" not in raw and b"123 4567" not in raw


def test_completed_order_is_not_edited(store, people):
    sale = _sale(store, people["1003"], paid=True)
    with pytest.raises(order_edits.EditError, match="refund"):
        order_edits.edit_order(store, people["1002"], sale.order_id, note="late note")
