"""The push's dispatch reads the catalogue (app/domain/operations.py): the actor's right
first, from ``spec.permission``, then the payload parsed once with ``spec.payload``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from app.domain.ids import new_id
from app.domain.operations import CATALOGUE, OpType, Scope
from app.domain.permissions import Role
from server.sync import common, dispatch, order_decision
from tests.server.support import Tenant


@pytest.mark.parametrize(("role", "op_type", "action"), [
    (Role.CASHIER, OpType.ORDER_DELETE, "order.delete"),
    (Role.CASHIER, OpType.APPROVAL_DECIDE, "approval.decide"),
    (Role.STOCK, OpType.REFUND_CREATE, "refund.request"),
    (Role.CASHIER, OpType.CONFLICT_RESOLVE, "conflict.resolve"),
    (Role.STOCK, OpType.CUSTOMER_UPSERT, "sale.create"),  # (checked by the dispatch only)
])
def test_a_person_without_the_right_is_refused_for_it_before_their_payload(
        tenant: Tenant, role: Role, op_type: OpType, action: str) -> None:
    """A malformed op of someone who may not do it at all is refused for the right (as
    a malformed sale of a stock person always was), not for its shape."""
    term = tenant.term
    result = term.push([term.op(op_type.value, new_id(), tenant.staff[role], {})])["results"][0]
    assert result["status"] == "rejected"
    assert result["reason"].endswith(f"and a {role.value} may not do {action}"), result


def test_a_payload_is_parsed_once(tenant: Tenant, monkeypatch: pytest.MonkeyPatch) -> None:
    """One parse per op, by the dispatch or the bulk decision, never again by a handler."""
    parsed: list[str] = []
    real = common.parse_payload

    def spy(model: Any, payload: dict[str, Any]) -> Any:
        parsed.append(model.__name__)
        return real(model, payload)

    for module in (common, dispatch, order_decision):
        monkeypatch.setattr(module, "parse_payload", spy)
    term, cashier = tenant.term, tenant.staff[Role.CASHIER]
    sale = term.order_create(cashier)
    oid = sale["entity_id"]
    pay = term.op(OpType.PAYMENT_RECORD.value, new_id(), cashier, {
        "id": new_id(), "order_id": oid, "method": "cash", "amount": 100, "tendered": 100,
        "created_at": datetime.now(UTC).isoformat()})
    edit = term.op(OpType.ORDER_UPDATE.value, oid, tenant.staff[Role.MANAGER],
                   {"fields": {"note": {"base": None, "value": "by the door"}}}, base_version=1)
    results = term.push([sale, pay, edit])["results"]
    assert [r["status"] for r in results] == ["applied"] * 3, [r["reason"] for r in results]
    assert sorted(parsed) == ["EntityUpdate", "OrderCreate", "PaymentData"]


def test_org_wide_ops_are_the_catalogues() -> None:
    assert {t for t, s in CATALOGUE.items() if s.scope is Scope.ORG} == dispatch.ORG_WIDE
    assert OpType.PRODUCT_UPDATE in dispatch.ORG_WIDE
    assert OpType.ORDER_CREATE not in dispatch.ORG_WIDE
