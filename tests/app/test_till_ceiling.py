"""The till knows its role ceiling and keeps PINs to their length by role (issue 12).

A person above the till's ceiling is refused at sign-in and as a PIN-override approver,
in words and before the PIN is checked (the till holds no hash of theirs, and a wrong
PIN is not counted against them); a decision by someone above it is refused before it
reaches the outbox. Storing a lower ceiling blanks the PIN hashes above it.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.domain.cart import Cart
from app.domain.permissions import Role
from app.domain.pin_rules import PinRuleError
from app.services import approvals, catalog, sales, staff, till_ceiling
from app.store.local import LocalStore
from app.store.models import OutboxOperation, Staff
from tests.conftest import seed_demo


@pytest.fixture
def demo_store(store: LocalStore) -> LocalStore:
    seed_demo(store, 40)
    return store


def _set_ceiling(store: LocalStore, role: Role) -> bool:
    with store.db.write() as s:
        return till_ceiling.store_ceiling(s, role)


def _hash_of(store: LocalStore, code: str) -> str:
    with store.db.read() as s:
        return s.scalar(select(Staff.pin_hash).where(Staff.code == code)) or ""


def test_a_till_without_a_ceiling_takes_everyone(demo_store: LocalStore) -> None:
    assert till_ceiling.till_ceiling(demo_store) is Role.OWNER
    assert staff.sign_in(demo_store, "1001", "111111").role is Role.OWNER


def test_sign_in_above_the_ceiling_is_refused_in_words(demo_store: LocalStore) -> None:
    assert _set_ceiling(demo_store, Role.MANAGER) is False  # first given: nothing to fetch
    assert till_ceiling.till_ceiling(demo_store) is Role.MANAGER
    assert _hash_of(demo_store, "1001") == ""  # the owner's hash is gone from this till
    assert _hash_of(demo_store, "1002").startswith("$argon2")
    with pytest.raises(staff.SignInError) as refused:
        staff.sign_in(demo_store, "1001", "111111")
    assert str(refused.value) == ("Olivia Owner is an owner; this till takes up to manager "
                                  "(ask an admin, or use the back-office till)")
    with demo_store.db.read() as s:  # not counted as a wrong PIN
        assert s.scalar(select(Staff.failed_pins).where(Staff.code == "1001")) == 0
    assert staff.sign_in(demo_store, "1002", "222222").role is Role.MANAGER
    assert staff.sign_in(demo_store, "1003", "3333").role is Role.CASHIER
    with pytest.raises(staff.SignInError, match="this till takes up to manager"):
        staff.verify_override(demo_store, "1001", "111111", "order.delete")
    assert staff.verify_override(demo_store, "1002", "222222", "order.delete").role is Role.MANAGER


def test_a_ceiling_that_goes_up_asks_for_the_hashes_again(demo_store: LocalStore) -> None:
    _set_ceiling(demo_store, Role.CASHIER)
    assert _hash_of(demo_store, "1004") == ""  # stock is beside cashier, not below it
    assert _set_ceiling(demo_store, Role.CASHIER) is False
    assert _set_ceiling(demo_store, Role.STOCK) is True  # stock staff newly within
    assert _set_ceiling(demo_store, Role.MANAGER) is True
    assert _set_ceiling(demo_store, Role.MANAGER) is False
    assert _set_ceiling(demo_store, Role.CASHIER) is False  # down: nothing to fetch


def test_a_decision_by_someone_above_the_ceiling_is_refused(demo_store: LocalStore) -> None:
    owner = staff.sign_in(demo_store, "1001", "111111")  # signed in before the change
    cashier = staff.sign_in(demo_store, "1003", "3333")
    cart = Cart(tax_inclusive=True)
    cart.add(catalog.line_for_product(demo_store, catalog.search(demo_store, "Harbour")[0].id, 1000))
    sale = sales.record_sale(demo_store, cashier, cart, [])
    _set_ceiling(demo_store, Role.MANAGER)
    with demo_store.db.read() as s:
        ops = s.scalar(select(func.count()).select_from(OutboxOperation))
    with pytest.raises(approvals.ApprovalError, match="Olivia Owner is an owner; this till"):
        approvals.delete_with_override(demo_store, cashier, owner, sale.order_id, "walked out")
    with demo_store.db.read() as s:  # the request was made; no decision reached the outbox
        kinds = s.scalars(select(OutboxOperation.type).order_by(OutboxOperation.op_seq)).all()
        assert len(kinds) == ops + 1 and kinds[-1] != "order.delete"
    manager = staff.sign_in(demo_store, "1002", "222222")
    approval_id = approvals.pending(demo_store)[0].id
    approvals.decide(demo_store, manager, approval_id, True)  # within the ceiling: goes through


def test_pins_are_held_to_their_length_by_role_on_the_till(store: LocalStore) -> None:
    with pytest.raises(PinRuleError, match="A manager's PIN is at least 6 digits"):
        staff.add_staff_row(store, "Mia", "77", Role.MANAGER, "2468")
    staff.add_staff_row(store, "Mia", "77", Role.MANAGER, "246813")
    staff.add_staff_row(store, "Ola", "78", Role.OWNER, "135792468024")  # 12 digits
    with pytest.raises(PinRuleError, match="at most 12 digits"):
        staff.add_staff_row(store, "Long", "79", Role.CASHIER, "1234567890123")
    assert staff.sign_in(store, "78", "135792468024").name == "Ola"
