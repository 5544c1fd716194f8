"""Tendering, the order status machine and order references across devices."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.ids import (
    ALPHABET,
    MAX_DEVICE_CODES,
    device_code,
    is_uuid,
    new_id,
    order_reference,
    parse_reference,
)
from app.domain.order_status import (
    TRANSITIONS,
    OrderStatus,
    StatusError,
    check_transition,
    is_editable,
    status_for_balance,
)
from app.domain.tender import (
    Method,
    Tender,
    TenderError,
    apply_tenders,
    change_due,
    quick_cash_amounts,
)

# ---------------------------------------------------------------- tender


def test_cash_change() -> None:
    (a,) = apply_tenders(1234, [Tender(Method.CASH, 2000)])
    assert (a.amount, a.change, a.tendered) == (1234, 766, 2000)
    assert change_due(1234, 2000) == 766
    assert change_due(1234, 1000) == 0


def test_split_cash_then_card() -> None:
    applied = apply_tenders(5000, [Tender(Method.CASH, 2000), Tender(Method.CARD, 3000)])
    assert [(a.method, a.amount, a.change) for a in applied] == [(Method.CASH, 2000, 0), (Method.CARD, 3000, 0)]


def test_card_over_balance_refused() -> None:
    with pytest.raises(TenderError, match="card"):
        apply_tenders(1000, [Tender(Method.CARD, 1001)])
    with pytest.raises(TenderError):
        apply_tenders(1000, [Tender(Method.CASH, 500), Tender(Method.CARD, 600)])


def test_only_last_cash_gives_change() -> None:
    with pytest.raises(TenderError, match="last"):
        apply_tenders(1000, [Tender(Method.CASH, 2000), Tender(Method.CARD, 100)])
    applied = apply_tenders(1000, [Tender(Method.CARD, 400), Tender(Method.CASH, 1000)])
    assert applied[-1].change == 400


def test_tender_refusals() -> None:
    with pytest.raises(TenderError):
        apply_tenders(1000, [Tender(Method.CASH, 0)])
    with pytest.raises(TenderError):
        apply_tenders(-1, [Tender(Method.CASH, 10)])
    with pytest.raises(TenderError, match="already paid"):
        apply_tenders(1000, [Tender(Method.CASH, 1000), Tender(Method.CARD, 1)])


@given(
    balance=st.integers(min_value=1, max_value=10**7),
    fractions=st.lists(st.floats(min_value=0.01, max_value=0.99), max_size=4),
    cash_extra=st.integers(min_value=0, max_value=10**5),
)
def test_split_tender_sums_to_balance(balance: int, fractions: list[float], cash_extra: int) -> None:
    tenders, remaining = [], balance
    for f in fractions:
        part = int(remaining * f)
        if part <= 0 or part >= remaining:
            continue
        tenders.append(Tender(Method.CARD, part))
        remaining -= part
    tenders.append(Tender(Method.CASH, remaining + cash_extra))
    applied = apply_tenders(balance, tenders)
    assert sum(a.amount for a in applied) == balance
    assert sum(a.change for a in applied) == cash_extra
    assert all(a.change == 0 for a in applied[:-1])
    assert all(a.amount == a.tendered - a.change for a in applied)


def test_quick_cash() -> None:
    assert quick_cash_amounts(1234) == [1234, 1300, 2000, 5000, 10000]
    assert quick_cash_amounts(0) == []


# ---------------------------------------------------------------- status machine


@pytest.mark.parametrize(("current", "new"), list(itertools.product(OrderStatus, OrderStatus)))
def test_every_status_pair(current: OrderStatus, new: OrderStatus) -> None:
    expected_allowed = {
        (OrderStatus.PENDING, OrderStatus.COMPLETED),
        (OrderStatus.PENDING, OrderStatus.DELETED),
        (OrderStatus.COMPLETED, OrderStatus.REFUNDED),
    }
    assert (new in TRANSITIONS[current]) == ((current, new) in expected_allowed)
    if current == new or (current, new) in expected_allowed:
        check_transition(current, new)
    else:
        with pytest.raises(StatusError):
            check_transition(current, new)


def test_status_for_balance() -> None:
    assert status_for_balance(1000, 0) is OrderStatus.PENDING
    assert status_for_balance(1000, 999) is OrderStatus.PENDING
    assert status_for_balance(1000, 1000) is OrderStatus.COMPLETED
    assert status_for_balance(0, 0) is OrderStatus.COMPLETED
    assert status_for_balance(1000, 1000, 1000) is OrderStatus.REFUNDED
    assert is_editable(OrderStatus.PENDING)
    assert not any(is_editable(s) for s in OrderStatus if s is not OrderStatus.PENDING)


# ---------------------------------------------------------------- ids and references


def test_new_ids_are_uuid7() -> None:
    a, b = new_id(), new_id()
    assert is_uuid(a) and a != b and a[14] == "7"
    assert not is_uuid("GO-000001")


@settings(max_examples=50)
@given(
    devices=st.lists(
        st.tuples(st.integers(min_value=0, max_value=MAX_DEVICE_CODES - 1),
                  st.integers(min_value=1, max_value=40),
                  st.integers(min_value=1, max_value=2_000_000)),
        min_size=1, max_size=30, unique_by=lambda d: d[0],
    )
)
def test_references_unique_across_devices(devices: list[tuple[int, int, int]]) -> None:
    """Many offline devices, each with its own code and counter, never mint the same reference."""
    seen: dict[str, tuple[str, int]] = {}
    for index, count, start in devices:
        code = device_code(index)
        for counter in range(start, start + count):
            ref = order_reference(code, counter)
            assert ref not in seen, (ref, seen.get(ref), (code, counter))
            seen[ref] = (code, counter)
            assert parse_reference(ref) == (code, counter)
            assert parse_reference(" " + ref.lower() + "\n") == (code, counter)


def test_reference_shape_and_refusals() -> None:
    assert order_reference("7K", 42) == "GO-7K001A"
    assert len({device_code(i) for i in range(MAX_DEVICE_CODES)}) == MAX_DEVICE_CODES
    assert all(c in ALPHABET for c in device_code(MAX_DEVICE_CODES - 1))
    for bad in ("GO-", "GO-7K01", "XX-7K0001", "GO-IL0001", "GO-7K00U1", "4006381333931"):
        assert parse_reference(bad) is None
    with pytest.raises(ValueError):
        order_reference("7K", 0)
    with pytest.raises(ValueError):
        order_reference("I1", 1)
    with pytest.raises(ValueError):
        device_code(MAX_DEVICE_CODES)
