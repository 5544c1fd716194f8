"""A payment's figures add up: the amount handed over is the payment plus the change
given back (helper O, a client written from docs/ alone: a cash payment of 5.00 with
2.00 handed over, or 2.00 handed over for 5.00 with 9.99 of change, was applied, on
a pushed sale, a payment.record and the back office alike). A till makes them so
(app/domain/tender.py); figures that do not add up record money nobody counted, and
are rejected with words that say which."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from app.domain.ids import new_id
from app.domain.order_rules import RuleError, check_payment
from app.domain.permissions import Role
from tests.server.support import Tenant

SHORT = "The amount handed over is less than the payment"
CHANGE = "The change given is not the amount handed over less the payment"


@pytest.mark.parametrize(("tendered", "change", "words"), [
    (200, 0, SHORT), (200, 300, SHORT), (1000, 999, CHANGE), (500, 1, CHANGE), (1000, 0, CHANGE)])
def test_figures_that_do_not_add_up_are_refused(tendered: int, change: int, words: str) -> None:
    with pytest.raises(RuleError, match=words):
        check_payment(500, "cash", tendered=tendered, change=change)


def test_figures_that_add_up_pass() -> None:
    check_payment(500, "cash", tendered=2000, change=1500)
    check_payment(500, "card", tendered=500, change=0)
    check_payment(500, "card")  # (a back-office payment sent without tendered: its amount)


def _reasons(tenant: Tenant, ops: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(r["status"], r.get("reason") or "") for r in tenant.term.push(ops)["results"]]


def test_a_pushed_sale_or_payment_whose_figures_do_not_add_up_is_rejected(tenant: Tenant
                                                                          ) -> None:
    term, cashier = tenant.term, tenant.staff[Role.CASHIER]
    short = term.order_create(cashier, pay=True)
    pay = short["payload"]["payments"][0]
    pay.update(tendered=pay["amount"] - 1, change=0)
    wrong_change = term.order_create(cashier, pay=True)
    pay = wrong_change["payload"]["payments"][0]
    pay.update(tendered=pay["amount"] + 1000, change=999)
    fine = term.order_create(cashier, pay=True)
    pay = fine["payload"]["payments"][0]
    pay.update(tendered=pay["amount"] + 1000, change=1000)
    got = _reasons(tenant, [short, wrong_change, fine])
    assert [s for s, _ in got] == ["rejected", "rejected", "applied"], got
    assert SHORT in got[0][1] and CHANGE in got[1][1], got

    unpaid = term.order_create(cashier)
    assert _reasons(tenant, [unpaid])[0][0] == "applied"
    amount = unpaid["payload"]["total"]
    record = term.op("payment.record", unpaid["entity_id"], cashier, {
        "id": new_id(), "order_id": unpaid["entity_id"], "method": "cash", "amount": amount,
        "tendered": amount - 1, "change": 0, "created_at": datetime.now(UTC).isoformat()})
    (status, reason), = _reasons(tenant, [record])
    assert status == "rejected" and SHORT in reason, reason


def test_the_back_office_refuses_a_payment_whose_figures_do_not_add_up(tenant: Tenant
                                                                       ) -> None:
    term, cashier = tenant.term, tenant.staff[Role.CASHIER]
    unpaid = term.order_create(cashier)
    assert _reasons(tenant, [unpaid])[0][0] == "applied"
    amount = unpaid["payload"]["total"]
    with tenant.server.client() as c:
        r = c.post(f"/offline-orders/{unpaid['entity_id']}/payments",
                   headers=tenant.login(Role.OWNER),
                   json={"id": new_id(), "method": "cash", "amount": amount,
                         "tendered": amount - 1, "change": 0})
    assert r.status_code == 422, r.text
    assert SHORT in r.text, r.text
