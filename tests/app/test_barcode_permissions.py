"""Barcodes (check digits, GS1 price/weight codes) and the role x action table."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.barcode import (
    BarcodeError,
    Kind,
    classify,
    gtin_check_digit,
    is_valid_gtin,
    make_variable,
    normalize,
    parse_variable,
    with_check_digit,
)
from app.domain.permissions import PERMISSIONS, Action, PermissionDenied, Role, allowed, require

# ---------------------------------------------------------------- barcodes

REAL_CODES = [
    ("4006381333931", Kind.EAN13),  # EAN-13
    ("5000112637922", Kind.EAN13),
    ("036000291452", Kind.UPCA),  # UPC-A
    ("96385074", Kind.EAN8),  # EAN-8
    ("73513537", Kind.EAN8),
]


@pytest.mark.parametrize(("code", "kind"), REAL_CODES)
def test_real_check_digits(code: str, kind: Kind) -> None:
    assert classify(code) is kind
    assert is_valid_gtin(code)
    assert gtin_check_digit(code[:-1]) == int(code[-1])
    bad = code[:-1] + str((int(code[-1]) + 1) % 10)
    with pytest.raises(BarcodeError, match="check digit"):
        normalize(bad)


def test_upca_normalizes_to_ean13() -> None:
    assert normalize("036000291452") == "0036000291452"
    assert normalize(" 4006381333931 ") == "4006381333931"
    assert normalize("ABC-123") == "ABC-123"
    with pytest.raises(BarcodeError):
        normalize("   ")


@given(st.text(alphabet="0123456789", min_size=7, max_size=12).filter(lambda s: len(s) in (7, 11, 12)))
def test_any_single_digit_error_is_caught(body: str) -> None:
    code = with_check_digit(body)
    assert is_valid_gtin(code)
    for i in range(len(code)):
        for d in "0123456789":
            if d != code[i]:
                assert not is_valid_gtin(code[:i] + d + code[i + 1:])


def test_price_embedded() -> None:
    code = make_variable("21", "12345", 1234)
    assert len(code) == 13 and is_valid_gtin(code)
    v = parse_variable(code)
    assert v is not None and (v.lookup_code, v.price, v.grams) == ("2112345", 1234, None)
    v = parse_variable(make_variable("02", "00042", 99))
    assert v is not None and (v.lookup_code, v.price, v.grams) == ("0200042", 99, None)


def test_weight_embedded() -> None:
    v = parse_variable(make_variable("28", "00001", 532))
    assert v is not None and (v.lookup_code, v.price, v.grams) == ("2800001", None, 532)


@pytest.mark.parametrize("prefix", ["02", "20", "21", "22", "23", "24", "25", "26", "27", "28", "29"])
@given(item=st.integers(0, 99999), value=st.integers(0, 9999))
def test_variable_round_trip(prefix: str, item: int, value: int) -> None:
    v = parse_variable(make_variable(prefix, f"{item:05d}", value))
    assert v is not None
    assert v.lookup_code == f"{prefix}{item:05d}"
    if prefix in ("25", "26", "27", "28", "29"):
        assert (v.price, v.grams) == (None, value)
    else:
        assert (v.price, v.grams) == (value, None)


def test_variable_bad_check_digit_and_non_variable() -> None:
    code = make_variable("28", "00001", 532)
    with pytest.raises(BarcodeError):
        parse_variable(code[:-1] + str((int(code[-1]) + 1) % 10))
    assert parse_variable("4006381333931") is None
    assert parse_variable("96385074") is None
    with pytest.raises(ValueError):
        make_variable("28", "00001", 10000)


# ---------------------------------------------------------------- permissions
# The expected table, written out in full: this test is the spec.
OW, A, M, C, S = "owner", "admin", "manager", "cashier", "stock"
EXPECTED: dict[str, set[str]] = {
    "sale.create": {OW, A, M, C},
    "sale.line_discount": {OW, A, M, C},
    "sale.order_discount": {OW, A, M, C},  # how much alone: the till limits
    "payment.record": {OW, A, M, C},
    "order.view": {OW, A, M, C, S},
    "order.edit": {OW, A, M},
    "order.delete.request": {OW, A, M, C},
    "order.delete": {OW, A, M},
    "refund.request": {OW, A, M, C},
    "refund.approve": {OW, A, M},
    "approval.decide": {OW, A, M},
    "conflict.resolve": {OW, A, M},
    "report.view": {OW, A, M},
    "stock.count": {OW, A, M, S},
    "stock.receive": {OW, A, M, S},
    "stock.adjust": {OW, A, M, S},
    "catalog.edit": {OW, A, M, S},
    "catalog.import": {OW, A, M, S},
    "product.delete": {OW, A, M},  # stock staff edit the catalog but may not delete from it
    "product.quick_add": {OW, A, M, S},
    "staff.manage": {OW, A},
    "terminal.enroll": {OW, A},
    "settings.edit": {OW, A},
    "sync.admin": {OW, A},
    "sync.resolve": {OW, A, M},  # resubmit or dismiss a quarantined op of their stores
    "shift.open": {OW, A, M, C},  # the person at the till opens and closes its shift
    "shift.close": {OW, A, M, C},
    "cash.move": {OW, A, M, C},  # pay in, pay out, drop to the safe
    "drawer.no_sale": {OW, A, M, C},
    "shift.variance.approve": {OW, A, M},  # an over/short beyond the store's threshold
}


def test_table_names_every_action() -> None:
    assert set(EXPECTED) == {a.value for a in Action}
    assert set(PERMISSIONS) == set(Role)


@pytest.mark.parametrize(("role", "action"), list(itertools.product(Role, Action)))
def test_role_action(role: Role, action: Action) -> None:
    expected = role.value in EXPECTED[action.value]
    assert allowed(role, action) is expected
    assert allowed(role.value, action.value) is expected
    if expected:
        require(role, action)
    else:
        with pytest.raises(PermissionDenied) as exc:
            require(role, action)
        assert exc.value.role is role and exc.value.action is action
        assert role.value in str(exc.value) and action.value in str(exc.value)
