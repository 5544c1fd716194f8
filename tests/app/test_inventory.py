"""Receiving, adjustments, count sessions and low stock through the one mutation path."""

import pytest
from sqlalchemy import select

from app import demo
from app.domain.cart import Cart
from app.domain.permissions import PermissionDenied
from app.domain.tender import Method, Tender
from app.services import catalog, inventory, sales, staff
from app.store.local import open_store
from app.store.models import AuditEntry, OutboxOperation


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    store = open_store(tmp_path_factory.mktemp("inv"), passphrase="test-passphrase")
    demo.seed(store, 120)
    yield store
    store.close()


def _first_product(store):
    return catalog.search(store, "Green")[0].id


def test_receive_and_adjust_write_ledger_audit_and_outbox(seeded):
    clerk = staff.sign_in(seeded, "1004", "4444")
    pid = _first_product(seeded)
    before = catalog.on_hand_milli(seeded, pid)
    inventory.receive(seeded, clerk, pid, 12_000, "PO-881")
    inventory.adjust(seeded, clerk, pid, -2_000, "damage", "dropped crate")
    assert catalog.on_hand_milli(seeded, pid) == before + 10_000
    with seeded.db.read() as s:
        ops = s.scalars(select(OutboxOperation).where(OutboxOperation.entity_id == pid)
                        .order_by(OutboxOperation.op_seq)).all()
        assert [op.payload["qty_delta_milli"] for op in ops[-2:]] == [12_000, -2_000]
        assert ops[-1].payload["reason"] == "damage: dropped crate"
        audit = s.scalars(select(AuditEntry).where(AuditEntry.entity_id == pid)).all()
        assert len(audit) >= 2


def test_count_commits_difference_against_expected_at_count_time(seeded):
    clerk = staff.sign_in(seeded, "1004", "4444")
    cashier = staff.sign_in(seeded, "1003", "3333")
    pid = _first_product(seeded)
    expected = catalog.on_hand_milli(seeded, pid)
    session = inventory.CountSession(seeded)
    for _ in range(3):
        session.scan(pid)
    # A sale is rung up after the shelf was counted and before the count is committed.
    cart = Cart(tax_inclusive=True)
    cart.add(catalog.line_for_product(seeded, pid))
    sales.record_sale(seeded, cashier, cart, [Tender(Method.CARD, cart.totals().total)])
    assert inventory.commit_count(seeded, clerk, session) == 1
    assert catalog.on_hand_milli(seeded, pid) == 3_000 - 1_000
    with seeded.db.read() as s:
        last = s.scalars(select(OutboxOperation).order_by(OutboxOperation.op_seq.desc())).first()
    assert last.type == "stock.adjust" and last.payload["kind"] == "count"
    assert last.payload["qty_delta_milli"] == 3_000 - expected


def test_cashier_may_not_adjust(seeded):
    cashier = staff.sign_in(seeded, "1003", "3333")
    with pytest.raises(PermissionDenied):
        inventory.adjust(seeded, cashier, _first_product(seeded), 1000, "correction")


def test_bad_reason_and_zero_quantities_are_refused(seeded):
    clerk = staff.sign_in(seeded, "1004", "4444")
    pid = _first_product(seeded)
    with pytest.raises(ValueError):
        inventory.adjust(seeded, clerk, pid, 1000, "because")
    with pytest.raises(inventory.StockError):
        inventory.receive(seeded, clerk, pid, 0)


def test_low_stock_lists_items_at_or_below_reorder_level(seeded):
    clerk = staff.sign_in(seeded, "1004", "4444")
    low = inventory.low_stock(seeded)
    assert all(item.on_hand_milli <= item.reorder_level_milli for item in low)
    if low:
        item = low[0]
        inventory.receive(seeded, clerk, item.product_id, item.reorder_level_milli + 5_000)
        assert item.product_id not in {x.product_id for x in inventory.low_stock(seeded)}


def test_selling_below_zero_is_allowed_and_flagged(seeded):
    cashier = staff.sign_in(seeded, "1003", "3333")
    pid = _first_product(seeded)
    on_hand = catalog.on_hand_milli(seeded, pid)
    cart = Cart(tax_inclusive=True)
    cart.add(catalog.line_for_product(seeded, pid, max(on_hand, 0) + 2_000))
    sale = sales.record_sale(seeded, cashier, cart, [Tender(Method.CARD, cart.totals().total)])
    assert catalog.on_hand_milli(seeded, pid) == min(on_hand, 0) - 2_000 if on_hand < 0 else -2_000
    from app.store.models import Order

    with seeded.db.read() as s:
        order = s.get(Order, sale.order_id)
        sku = catalog.get(seeded, pid).sku
        assert order.status == "completed" and f"negative_stock:{sku}" in order.flags
