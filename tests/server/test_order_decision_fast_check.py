"""order_decision's quick range check of an order.create (``_lines_plainly_fit``) only
lets through what the shared rules (app/domain/order_rules.check_lines and
check_order_amounts) let through: every value at, inside and outside its bounds, a
repeated line id, a bool where a number goes. When the rules refuse, the push still
answers with their words."""

from __future__ import annotations

from typing import Any

import pytest

from app.domain.ids import new_id
from app.domain.limits import MAX_AMOUNT, MAX_LINES, MAX_PPM, MAX_QTY_MILLI
from app.domain.order_rules import RuleError, check_lines, check_order_amounts
from server.sync.common import Rejected
from server.sync.order_decision import _lines_plainly_fit, check_order_create
from sync.payloads import OrderCreate
from tests.server.test_order_decision import _payload

LINE_FIELDS = ("qty_milli", "unit_price", "tax_rate_ppm", "discount_percent_ppm",
               "discount_amount", "gross", "net", "tax", "total")
ORDER_FIELDS = ("subtotal", "discount", "tax", "total", "order_discount_percent_ppm",
                "order_discount_amount")
EDGES = (-MAX_AMOUNT - 1, -MAX_AMOUNT, -1, 0, 1, MAX_PPM, MAX_PPM + 1, MAX_QTY_MILLI,
         MAX_AMOUNT, MAX_AMOUNT + 1, True, False)


def _rules_pass(p: OrderCreate) -> bool:
    try:
        check_lines(p.lines, derived=[{"gross": li.gross, "net": li.net, "tax": li.tax,
                                       "total": li.total} for li in p.lines])
        check_order_amounts({"subtotal": p.subtotal, "discount": p.discount, "tax": p.tax,
                             "total": p.total}, discount_ppm=p.order_discount_percent_ppm,
                            discount_amount=p.order_discount_amount)
    except RuleError:
        return False
    return True


def _order() -> OrderCreate:
    oid = new_id()
    return OrderCreate.model_validate(_payload(oid, [(new_id(), 250, 1000), (None, 99, 2000)]))


def test_a_plain_sale_takes_the_quick_check() -> None:
    p = _order()
    assert _rules_pass(p) and _lines_plainly_fit(p)


@pytest.mark.parametrize("name", LINE_FIELDS)
@pytest.mark.parametrize("value", EDGES)
def test_a_line_value_passes_only_if_the_rules_pass(name: str, value: Any) -> None:
    p = _order()
    # model_copy skips validation: values the payload's types would refuse reach the check too
    line = p.lines[1].model_copy(update={name: value})
    p = p.model_copy(update={"lines": [p.lines[0], line]})
    if _lines_plainly_fit(p):
        assert _rules_pass(p), (name, value)


@pytest.mark.parametrize("name", ORDER_FIELDS)
@pytest.mark.parametrize("value", EDGES)
def test_an_order_value_passes_only_if_the_rules_pass(name: str, value: Any) -> None:
    p = _order().model_copy(update={name: value})
    if _lines_plainly_fit(p):
        assert _rules_pass(p), (name, value)


def test_no_lines_too_many_lines_and_a_repeated_id_go_to_the_rules() -> None:
    p = _order()
    assert not _lines_plainly_fit(p.model_copy(update={"lines": []}))
    assert not _lines_plainly_fit(p.model_copy(update={"lines": [p.lines[0]] * 2}))
    many = [p.lines[0].model_copy(update={"id": new_id()}) for _ in range(MAX_LINES + 1)]
    assert not _lines_plainly_fit(p.model_copy(update={"lines": many}))


def test_a_refused_value_is_refused_in_the_rules_words() -> None:
    p = _order()
    line = p.lines[0].model_copy(update={"discount_amount": -5})
    with pytest.raises(Rejected, match="Line 1: the discount must be a whole number"):
        check_order_create(p.model_copy(update={"lines": [line, p.lines[1]]}))
    with pytest.raises(Rejected, match="id of another line"):
        check_order_create(p.model_copy(update={"lines": [p.lines[0], p.lines[0]]}))
