"""The payment-plan calculator: exact sums, documented rounding, sensible dates."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.schedule import (
    Interval,
    ScheduleError,
    add_months,
    allocate_paid,
    down_payment_amount,
    make_plan,
    overdue,
)


@given(
    total=st.integers(min_value=100, max_value=10**9),
    down_pct=st.integers(min_value=0, max_value=990_000),
    count=st.integers(min_value=1, max_value=60),
    start=st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)),
    interval=st.sampled_from([Interval.WEEKLY, Interval.FORTNIGHTLY, Interval.MONTHLY]),
)
def test_installments_sum_exactly_and_differ_by_at_most_one(total, down_pct, count, start, interval):
    down = down_payment_amount(total, percent_ppm=down_pct)
    if total - down < count:
        with pytest.raises(ScheduleError):
            make_plan(total, down, count, start, interval)
        return
    plan = make_plan(total, down, count, start, interval)
    amounts = [i.amount for i in plan.installments]
    assert plan.down_payment + sum(amounts) == total
    assert max(amounts) - min(amounts) <= 1
    assert amounts == sorted(amounts, reverse=True)  # leftover cents go to the first ones
    dates = [i.due_date for i in plan.installments]
    assert dates == sorted(dates) and len(set(dates)) == count and dates[0] > start


def test_thirty_percent_down_two_installments():
    down = down_payment_amount(10_001, percent_ppm=300_000)
    assert down == 3000  # 3000.3 rounds half up to 3000
    plan = make_plan(10_001, down, 2, date(2026, 1, 31), Interval.MONTHLY)
    assert [(i.due_date, i.amount) for i in plan.installments] == [
        (date(2026, 2, 28), 3501),
        (date(2026, 3, 31), 3500),
    ]


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 1, 1)), st.integers(0, 120))
def test_add_months_never_drifts(start, months):
    d = add_months(start, months)
    assert (d.year * 12 + d.month) - (start.year * 12 + start.month) == months
    assert d.day == start.day or d.day < start.day and (d + timedelta(days=1)).day == 1


def test_custom_dates_must_be_ordered():
    start = date(2026, 5, 1)
    with pytest.raises(ScheduleError):
        make_plan(1000, 0, 2, start, Interval.CUSTOM, [date(2026, 6, 1), date(2026, 5, 20)])
    plan = make_plan(1000, 0, 2, start, Interval.CUSTOM, [date(2026, 5, 20), date(2026, 6, 1)])
    assert [i.amount for i in plan.installments] == [500, 500]


@given(st.integers(0, 20_000))
def test_payments_fill_installments_oldest_first(paid):
    plan = make_plan(10_000, 1_000, 3, date(2026, 1, 1), Interval.WEEKLY)
    states = allocate_paid(list(plan.installments), paid)
    assert sum(s.paid for s in states) == min(paid, 9_000)
    seen_unpaid = False
    for s in states:
        if s.outstanding:
            seen_unpaid = True
        elif seen_unpaid:
            pytest.fail("a later installment is paid while an earlier one is not")


def test_overdue_lists_only_past_due_unpaid():
    plan = make_plan(3_000, 0, 3, date(2026, 1, 1), Interval.WEEKLY)
    states = allocate_paid(list(plan.installments), 1_000)
    late = overdue(states, today=date(2026, 1, 16))
    assert [s.number for s in late] == [2]


def test_bad_down_payments():
    with pytest.raises(ScheduleError):
        down_payment_amount(1000, amount=1001)
    with pytest.raises(ScheduleError):
        down_payment_amount(1000)
    with pytest.raises(ScheduleError):
        make_plan(1000, 1000, 1, date(2026, 1, 1))
