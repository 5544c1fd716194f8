"""Money: the one rounding rule, parsing/display round trips, allocation."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.money import (
    MoneyError,
    allocate,
    div_round,
    format_money,
    format_plain,
    parse,
    to_minor,
)

ints = st.integers(min_value=-(10**12), max_value=10**12)
nonzero = st.integers(min_value=-(10**6), max_value=10**6).filter(bool)


@given(ints, nonzero)
def test_div_round_is_half_away_from_zero(n: int, d: int) -> None:
    expected = int((Decimal(n) / Decimal(d)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert div_round(n, d) == expected


@pytest.mark.parametrize(
    ("n", "d", "q"),
    [(5, 2, 3), (-5, 2, -3), (5, -2, -3), (-5, -2, 3), (7, 2, 4), (1, 3, 0), (2, 3, 1), (-1, 3, 0), (-2, 3, -1)],
)
def test_div_round_examples(n: int, d: int, q: int) -> None:
    assert div_round(n, d) == q


def test_div_round_by_zero() -> None:
    with pytest.raises(ZeroDivisionError):
        div_round(1, 0)


@pytest.mark.parametrize("locale", ["en_IE", "de_DE"])
@given(minor=st.integers(min_value=-(10**11), max_value=10**11))
def test_format_parse_round_trip(locale: str, minor: int) -> None:
    assert parse(format_money(minor, "EUR", locale), "EUR", locale) == minor


@given(minor=st.integers(min_value=-(10**9), max_value=10**9))
def test_format_parse_round_trip_zero_decimal_currency(minor: int) -> None:
    assert parse(format_money(minor, "JPY", "de_DE"), "JPY", "de_DE") == minor


@pytest.mark.parametrize(
    ("text", "locale", "minor"),
    [
        ("1,234.50", "en_IE", 123450),
        ("€12.5", "en_IE", 1250),
        ("  7 ", "en_IE", 700),
        ("1.234,50", "de_DE", 123450),
        ("12,5 €", "de_DE", 1250),
        ("0,05", "de_DE", 5),
    ],
)
def test_parse_examples(text: str, locale: str, minor: int) -> None:
    assert parse(text, "EUR", locale) == minor


@pytest.mark.parametrize("text", ["", "   ", "abc", "1.234", "€"])
def test_parse_refuses_non_amounts_and_extra_decimals(text: str) -> None:
    with pytest.raises(MoneyError):
        parse(text, "EUR", "en_IE")


def test_format_plain_and_to_minor() -> None:
    assert format_plain(123456) == "1234.56"
    assert format_plain(-5) == "-0.05"
    assert format_plain(1234, "JPY") == "1234"
    assert to_minor("12.345") == 1235
    assert to_minor("-12.345") == -1235
    with pytest.raises(MoneyError):
        to_minor("NaN")


@given(
    total=st.integers(min_value=-(10**9), max_value=10**9),
    weights=st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=30),
)
def test_allocate_sums_exactly_and_is_proportional(total: int, weights: list[int]) -> None:
    parts = allocate(total, weights)
    assert len(parts) == len(weights)
    assert sum(parts) == total
    wsum = sum(weights) or len(weights)
    eff = weights if sum(weights) else [1] * len(weights)
    for part, w in zip(parts, eff, strict=True):
        exact = Decimal(total) * w / wsum
        assert abs(Decimal(part) - exact) < 1
        # parts carry the sign of the total, never the other way round
        assert part * total >= 0


def test_allocate_examples() -> None:
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]
    assert allocate(-100, [1, 1, 1]) == [-34, -33, -33]
    assert allocate(10, [0, 0]) == [5, 5]
    assert allocate(5, []) == []


@pytest.mark.parametrize(("text", "meant"), [("4,48", "4.48"), ("12,5", "12.5"), ("0,5", "0.5"),
                                             ("1234,56", "1,234.56")])
def test_a_decimal_comma_in_a_point_locale_is_refused_and_the_amount_named(
        text: str, meant: str) -> None:
    """ "4,48" typed for an installment was read as 448.00 (the comma taken for a
    thousands mark): a till must refuse it and say what was likely meant."""
    with pytest.raises(MoneyError) as refused:
        parse(text, "EUR", "en_IE")
    assert f"did you mean {meant}?" in str(refused.value)
    assert parse(text, "EUR", "de_DE") == parse(meant, "EUR", "en_IE")  # a comma locale's cents


@pytest.mark.parametrize(("text", "minor"), [("1,234", 123400), ("1,234,567.89", 123456789)])
def test_grouping_commas_in_their_places_still_read(text: str, minor: int) -> None:
    assert parse(text, "EUR", "en_IE") == minor
