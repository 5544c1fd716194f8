"""The money and order rules of app/domain/order_rules.py, and the till refusing what
they refuse before it writes (issue 20, part 1)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app import demo
from app.domain import order_rules as rules
from app.domain.cart import Cart
from app.domain.ids import SERVER_DEVICE_CODE, device_code, order_reference, server_reference
from app.domain.limits import MAX_AMOUNT
from app.domain.order_rules import RuleError, SoldLine
from app.domain.order_status import OrderStatus
from app.domain.schedule import make_plan
from app.domain.tender import Method, Tender
from app.services import approvals, catalog, sales, staff
from app.services.approvals import ApprovalError, RefundItem
from app.store.models import Order
from tests.conftest import fresh_store, seed_demo


@dataclass(frozen=True)
class RL:
    line_id: str
    qty_milli: int
    amount: int


@dataclass(frozen=True)
class Inst:
    number: int
    due_date: date
    amount: int


@pytest.mark.parametrize("amount", [0, -499, MAX_AMOUNT + 1, 10**25])
def test_payments_are_positive_and_in_range(amount: int) -> None:
    with pytest.raises(RuleError):
        rules.check_payment(amount, "cash")


def test_a_payment_in_an_unknown_tender_is_refused() -> None:
    with pytest.raises(RuleError, match="“bitcoin” is not a tender this store takes"):
        rules.check_payment(100, "bitcoin")
    rules.check_payment(100, "card")
    with pytest.raises(RuleError, match="takes no payment"):
        rules.check_takes_payment("deleted", "GO-7K0042")
    with pytest.raises(RuleError, match="more than"):
        rules.check_sum(MAX_AMOUNT - 5, 6, "The payments on this order")


def test_refunds_within_sold_and_paid() -> None:
    sold = {"a": SoldLine("Tea", 2000, 500)}
    rules.check_refund_lines([RL("a", 1500, 100)], sold)
    for bad in ([RL("a", -1, 0)], [RL("a", 0, 0)], [RL("a", 1000, 1), RL("a", 501, 1)],
                [RL("b", 1, 0)]):
        with pytest.raises(RuleError):
            rules.check_refund_lines(bad, sold)
    rules.check_refund_money(518, 518, 0)
    with pytest.raises(RuleError, match="At most €0.00 can be refunded"):
        rules.check_refund_money(1_000_517 - 518, 518, 518)
    with pytest.raises(RuleError):
        rules.check_refund_money(-1, 518, 0)


@given(st.integers(0, 10_000), st.integers(0, 10_000), st.integers(0, 10_000),
       st.sampled_from(list(OrderStatus)))
def test_status_only_moves_forward(total: int, paid: int, refunded: int,
                                   current: OrderStatus) -> None:
    new = rules.next_status(current, total, paid, refunded)
    assert rules.moves_forward(current, new)
    if current is not OrderStatus.PENDING:
        assert new is not OrderStatus.PENDING  # a completed order is never reopened


def test_an_order_with_money_collected_is_not_deleted() -> None:
    assert rules.deletion_blocker("pending", 0, 0) is None
    assert rules.deletion_blocker("pending", 1623, 1623) is None
    assert rules.deletion_blocker("pending", 1623, 0) == (
        "€16.23 was collected on this order: refund it before deleting")
    assert "refund" in (rules.deletion_blocker("completed", 500, 0) or "")


def test_schedules_add_up_with_dates_in_order() -> None:
    plan = make_plan(10_000, 1_000, 3, date(2026, 1, 31))
    rules.check_schedule(9_000, plan.installments)
    with pytest.raises(RuleError, match="is owed after the down payment"):
        rules.check_schedule(9_001, plan.installments)
    swapped = [Inst(1, date(2026, 3, 1), 4500), Inst(2, date(2026, 2, 1), 4500)]
    with pytest.raises(RuleError, match="in order"):
        rules.check_schedule(9_000, swapped)
    with pytest.raises(RuleError):
        rules.check_schedule(0, [Inst(1, date(2026, 3, 1), 0)])


def test_references_have_the_go_shape_and_the_server_keeps_its_range() -> None:
    rules.check_reference(order_reference("7K", 42))
    for bad in ("not-a-GO-ref", "GO-7K004\x00", "GO-" + "1" * 60, "go-7k0042"):
        with pytest.raises(RuleError):
            rules.check_reference(bad)
    assert device_code(1023) == SERVER_DEVICE_CODE
    with pytest.raises(RuleError, match="made by the server only"):
        rules.check_reference(server_reference(1))
    rules.check_reference(server_reference(1), from_server=True)


# ------------------------------------------------------------------ the till


@pytest.fixture(scope="module")
def store(tmp_path_factory, migrated_store_file):  # type: ignore[no-untyped-def]
    s = fresh_store(tmp_path_factory.mktemp("rules"), migrated_store_file)
    seed_demo(s, 40)
    yield s
    s.close()


@pytest.fixture(scope="module")
def people(store):  # type: ignore[no-untyped-def]
    return {code: staff.sign_in(store, code, pin) for _, code, _, pin in demo.DEMO_STAFF}


def _pending_sale(store, actor, paid: int):  # type: ignore[no-untyped-def]
    cart = Cart(tax_inclusive=True)
    for p in catalog.search(store, "Harbour")[:2]:
        cart.add(catalog.line_for_product(store, p.id, 5000))
    assert cart.totals().total > paid
    return sales.record_sale(store, actor, cart, [Tender(Method.CASH, paid)] if paid else [])


def test_the_till_refuses_to_delete_an_order_with_money_collected(store, people) -> None:  # type: ignore[no-untyped-def]
    cashier, manager = people["1003"], people["1002"]
    sale = _pending_sale(store, cashier, 1623)
    with pytest.raises(ApprovalError, match="€16.23 was collected on this order: refund it"):
        approvals.request_deletion(store, cashier, sale.order_id, "rung up twice")
    with store.db.read() as s:
        order = s.get(Order, sale.order_id)
        items = [RefundItem(li.id, li.qty_milli) for li in order.lines]
    approvals.refund_with_override(store, cashier, manager, sale.order_id, items, "rung up twice")
    with store.db.read() as s:
        order = s.get(Order, sale.order_id)
        assert (order.status, order.refunded) == ("pending", 1623)
    approvals.delete_with_override(store, cashier, manager, sale.order_id, "rung up twice")
    with store.db.read() as s:
        assert s.get(Order, sale.order_id).status == "deleted"
    with pytest.raises(sales.SaleError, match="a deleted order takes no payment"):
        sales.record_payment(store, cashier, sale.order_id, Tender(Method.CASH, 100))


def test_the_till_refuses_a_refund_of_nothing(store, people) -> None:  # type: ignore[no-untyped-def]
    cashier = people["1003"]
    sale = _pending_sale(store, cashier, 0)
    with store.db.read() as s:
        first = s.get(Order, sale.order_id).lines[0]
        line_id = first.id
    with pytest.raises(ApprovalError):  # nothing collected: nothing to refund
        approvals.request_refund(store, cashier, sale.order_id, [RefundItem(line_id, 1000)], "x")
    paid = _pending_sale(store, cashier, 100)
    with store.db.read() as s:
        line_id = s.get(Order, paid.order_id).lines[0].id
    with pytest.raises(ApprovalError, match="more than zero"):
        approvals.request_refund(store, cashier, paid.order_id, [RefundItem(line_id, -1)], "x")
