"""A sale without discounts is totalled without app/domain/totals.py's ``compute`` (the
order decision's undiscounted_totals); the totals must be compute's, to the cent."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.ids import new_id
from app.domain.limits import MAX_AMOUNT, MAX_PPM, MAX_QTY_MILLI
from app.domain.totals import LineInput, compute
from server.sync.order_decision import undiscounted_totals
from sync.payloads import OrderLineData

LINE = st.tuples(st.integers(-MAX_AMOUNT, MAX_AMOUNT), st.integers(1, MAX_QTY_MILLI),
                 st.integers(0, MAX_PPM))
SMALL_LINE = st.tuples(st.integers(-5000, 5000), st.integers(1, 5000),
                       st.sampled_from([0, 70_000, 100_000, 190_000, 200_000, 210_000]))


def _line(price: int, qty: int, rate: int) -> OrderLineData:
    return OrderLineData(id=new_id(), product_id=None, name="Item", unit_price=price,
                         qty_milli=qty, tax_rate_ppm=rate, gross=0, net=0, tax=0, total=0)


def _compute(lines: list[tuple[int, int, int]], inclusive: bool) -> dict[str, int]:
    t = compute([LineInput(*li) for li in lines], inclusive=inclusive)
    return {"subtotal": t.subtotal, "discount": t.discount, "tax": t.tax, "total": t.total}


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.lists(LINE, max_size=6), st.lists(SMALL_LINE, max_size=6)), st.booleans())
def test_undiscounted_totals_are_computes(lines: list[tuple[int, int, int]],
                                          inclusive: bool) -> None:
    assert undiscounted_totals([_line(*li) for li in lines], inclusive) == _compute(
        lines, inclusive)


def test_halves_round_away_from_zero_as_compute_does() -> None:
    # 0.5 of a minor unit, each way: the gross of 1 x 0.0005 and the tax of a half
    for lines in ([(1, 500, 0)], [(-1, 500, 0)], [(5, 100, 100_000)], [(-5, 100, 100_000)],
                  [(3, 1000, 200_000), (-3, 1000, 200_000)], [(105, 1000, 50_000)]):
        for inclusive in (True, False):
            assert undiscounted_totals([_line(*li) for li in lines], inclusive) == _compute(
                lines, inclusive), (lines, inclusive)
