"""Totals: line and order discounts, inclusive and exclusive tax, by the written rule."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from app.domain.cart import Cart, CartLine
from app.domain.money import div_round
from app.domain.totals import (
    NO_DISCOUNT,
    PPM,
    Discount,
    DiscountError,
    LineInput,
    compute,
    line_gross,
    percent_to_ppm,
    tax_of,
)

RATES = st.sampled_from([0, 48_000, 90_000, 135_000, 200_000, 230_000])


@st.composite
def line_inputs(draw, with_discount: bool = True) -> LineInput:
    price = draw(st.integers(min_value=0, max_value=200_000))
    qty = draw(st.integers(min_value=1, max_value=50_000))
    rate = draw(RATES)
    disc = NO_DISCOUNT
    if with_discount:
        kind = draw(st.sampled_from(["none", "percent", "amount"]))
        gross = line_gross(price, qty)
        if kind == "percent":
            disc = Discount(percent_ppm=draw(st.integers(min_value=0, max_value=PPM)))
        elif kind == "amount" and gross > 0:
            disc = Discount(amount=draw(st.integers(min_value=0, max_value=gross)))
    return LineInput(price, qty, rate, disc)


@st.composite
def order_discounts(draw, lines: list[LineInput]) -> Discount:
    kind = draw(st.sampled_from(["none", "percent", "amount"]))
    if kind == "percent":
        return Discount(percent_ppm=draw(st.integers(min_value=0, max_value=PPM)))
    if kind == "amount":
        base = sum(line_gross(li.unit_price, li.qty_milli) - li.discount.off(line_gross(li.unit_price, li.qty_milli))
                   for li in lines)
        return Discount(amount=draw(st.integers(min_value=0, max_value=max(base, 0))))
    return NO_DISCOUNT


order_cases = st.lists(line_inputs(), min_size=1, max_size=12).flatmap(
    lambda lines: st.tuples(st.just(lines), order_discounts(lines))
)


@given(order_cases, st.booleans())
def test_totals_invariants(case, inclusive: bool) -> None:
    lines, od = case
    t = compute(lines, od, inclusive=inclusive)
    assert t.total == sum(lt.total for lt in t.lines)
    assert t.tax == sum(lt.tax for lt in t.lines)
    assert sum(t.tax_by_rate.values()) == t.tax
    assert sum(t.net_by_rate.values()) == sum(lt.net for lt in t.lines)
    assert t.subtotal == sum(lt.gross for lt in t.lines)
    assert t.discount == sum(lt.line_discount + lt.order_discount for lt in t.lines)
    # the order discount is spread exactly, and no line goes negative
    order_off = sum(lt.order_discount for lt in t.lines)
    base = sum(lt.gross - lt.line_discount for lt in t.lines)
    if od.percent_ppm:
        assert order_off == div_round(base * od.percent_ppm, PPM)
    else:
        assert order_off == od.amount
    for lt, li in zip(t.lines, lines, strict=True):
        assert lt.net >= 0
        assert lt.tax >= 0
        assert lt.net == lt.gross - lt.line_discount - lt.order_discount
        assert lt.total == (lt.net if inclusive else lt.net + lt.tax)
        assert lt.tax == tax_of(lt.net, li.tax_rate_ppm, inclusive)
    assert t.total == t.subtotal - t.discount + (0 if inclusive else t.tax)


@given(net=st.integers(min_value=0, max_value=10**9), rate=RATES)
def test_inclusive_tax_leaves_the_exclusive_base(net: int, rate: int) -> None:
    """A price including tax, less its tax, is a base whose exclusive tax gives it back (±1)."""
    tax = tax_of(net, rate, inclusive=True)
    base = net - tax
    assert abs(base + tax_of(base, rate, inclusive=False) - net) <= 1
    # and the inclusive tax is the exact fraction rounded half away from zero
    assert tax == div_round(net * rate, PPM + rate)


@given(st.lists(line_inputs(with_discount=False), min_size=1, max_size=8), st.integers(0, PPM))
def test_order_percent_discount_is_proportional(lines, ppm) -> None:
    t = compute(lines, Discount(percent_ppm=ppm), inclusive=True)
    base = sum(lt.gross for lt in t.lines)
    assume(base > 0)
    order_off = sum(lt.order_discount for lt in t.lines)
    for lt in t.lines:
        exact = order_off * lt.gross / base
        assert abs(lt.order_discount - exact) < 1


def test_examples_inclusive_and_exclusive() -> None:
    lines = [LineInput(1000, 1000, 230_000), LineInput(250, 3000, 0)]
    inc = compute(lines, inclusive=True)
    assert inc.total == 1750
    assert inc.tax == 187  # 1000 * 0.23 / 1.23 = 186.99
    assert inc.tax_by_rate == {230_000: 187, 0: 0}
    exc = compute(lines, inclusive=False)
    assert exc.tax == 230
    assert exc.total == 1980


def test_weighed_line_rounds_half_away() -> None:
    assert line_gross(299, 532) == 159  # 159.068
    assert line_gross(250, 502) == 126  # 125.5 -> 126
    assert line_gross(-250, 502) == -126


def test_line_discounts() -> None:
    t = compute([LineInput(999, 1000, 0, Discount(percent_ppm=100_000))], inclusive=True)
    assert t.lines[0].line_discount == 100  # 99.9
    assert t.total == 899
    t = compute([LineInput(999, 2000, 0, Discount(amount=500))], inclusive=True)
    assert t.total == 1498
    t = compute([LineInput(999, 1000, 0, Discount(percent_ppm=PPM))], inclusive=True)
    assert t.total == 0


def test_order_discount_spread_sums_exactly() -> None:
    lines = [LineInput(100, 1000, 0), LineInput(100, 1000, 0), LineInput(100, 1000, 0)]
    t = compute(lines, Discount(amount=100), inclusive=True)
    assert [lt.order_discount for lt in t.lines] == [34, 33, 33]
    assert t.total == 200


def test_discount_errors() -> None:
    with pytest.raises(DiscountError):
        Discount(percent_ppm=PPM + 1)
    with pytest.raises(DiscountError):
        Discount(percent_ppm=-1)
    with pytest.raises(DiscountError):
        Discount(amount=-1)
    with pytest.raises(DiscountError):
        Discount(percent_ppm=10, amount=10)
    with pytest.raises(DiscountError):
        compute([LineInput(100, 1000, 0, Discount(amount=101))], inclusive=True)
    with pytest.raises(DiscountError):
        compute([LineInput(100, 1000, 0)], Discount(amount=101), inclusive=True)


def test_percent_to_ppm() -> None:
    assert percent_to_ppm("12.5") == 125_000
    assert percent_to_ppm("20%") == 200_000
    with pytest.raises(DiscountError):
        percent_to_ppm("lots")


def test_cart_merges_counted_items_and_refuses_bad_discounts() -> None:
    cart = Cart(tax_inclusive=True)
    line = CartLine("p1", "SKU1", "Milk", 129, 0)
    cart.add(line)
    cart.add(CartLine("p1", "SKU1", "Milk", 129, 0))
    assert len(cart.lines) == 1 and cart.lines[0].qty_milli == 2000
    cart.add(CartLine("p2", "W1", "Apples", 299, 0, qty_milli=532, weighed=True))
    cart.add(CartLine("p2", "W1", "Apples", 299, 0, qty_milli=400, weighed=True))
    assert len(cart.lines) == 3
    with pytest.raises(DiscountError):
        cart.set_order_discount(Discount(amount=10**6))
    assert cart.order_discount == NO_DISCOUNT
    with pytest.raises(DiscountError):
        cart.set_line_discount(0, Discount(amount=10**6))
    # a refused discount leaves the cart as it was, still able to total
    assert cart.lines[0].discount == NO_DISCOUNT
    assert cart.totals().total == 258 + 159 + 120
    cart.set_quantity(0, 0)
    assert len(cart.lines) == 2
