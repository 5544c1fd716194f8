"""shift.open and shift.close through the push, on both databases (server/sync/shifts.py):
applied with their feed state, and the refusals in words (a second open shift on a till,
a close of a shift never opened, of one already closed, of another till's)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app.domain.feed_states import ShiftState, unknown_keys
from app.domain.ids import new_id
from app.domain.operations import Entity, OpType
from app.domain.permissions import Role
from tests.server.support import Tenant, Terminal


def _now() -> str:
    return datetime.now(UTC).isoformat()


def open_op(term: Terminal, actor: str, shift_id: str | None = None,
            opening_float: int = 5000, counted: dict[str, int] | None = None) -> dict[str, Any]:
    shift_id = shift_id or new_id()
    return term.op(OpType.SHIFT_OPEN, shift_id, actor, {
        "shift_id": shift_id, "opened_at": _now(), "opening_float": opening_float,
        "float_counted": counted})


def close_op(term: Terminal, actor: str, shift_id: str, counted: int = 6150,
             expected: int = 6200, over_short: int | None = None) -> dict[str, Any]:
    return term.op(OpType.SHIFT_CLOSE, shift_id, actor, {
        "shift_id": shift_id, "closed_at": _now(), "counted_cash": counted,
        "expected_cash": expected,
        "over_short": counted - expected if over_short is None else over_short,
        "reason": "coin dropped"})


def _results(term: Terminal, *ops: dict[str, Any]) -> list[dict[str, Any]]:
    return term.push(list(ops))["results"]


def test_open_and_close_via_push_reach_the_feed(tenant: Tenant) -> None:
    cashier, term = tenant.staff[Role.CASHIER], tenant.term
    opened = open_op(term, cashier, counted={"1000": 5})
    res = _results(term, opened, close_op(term, cashier, opened["entity_id"]))
    assert [(r["status"], r["version"]) for r in res] == [("applied", 1), ("applied", 2)], res
    shifts = [c for c in term.pull_all()[0] if c["entity_type"] == Entity.SHIFT]
    assert [c["data"]["status"] for c in shifts] == ["open", "closed"]
    last = shifts[-1]["data"]
    ShiftState.model_validate(last)
    assert not unknown_keys(ShiftState, last)
    assert (last["terminal_id"], last["opening_float"], last["float_counted"]) == (
        term.device_id, 5000, {"1000": 5})
    assert (last["counted_cash"], last["expected_cash"], last["over_short"],
            last["close_reason"], last["closed_by"]) == (6150, 6200, -50, "coin dropped", cashier)


def test_second_open_shift_on_a_till_is_refused(tenant: Tenant) -> None:
    cashier, term = tenant.staff[Role.CASHIER], tenant.term
    first = open_op(term, cashier)
    res = _results(term, first, open_op(term, cashier), open_op(term, cashier, first["entity_id"]))
    assert [r["status"] for r in res] == ["applied", "rejected", "rejected"], res
    assert "already has an open shift" in res[1]["reason"]
    assert "already opened" in res[2]["reason"]
    other = tenant.enroll(name="Second till")  # another till has its own shift
    assert _results(other, open_op(other, cashier))[0]["status"] == "applied"


def test_close_of_an_unknown_closed_or_foreign_shift_is_refused(tenant: Tenant) -> None:
    cashier, term = tenant.staff[Role.CASHIER], tenant.term
    other = tenant.enroll(name="Second till")
    unknown = close_op(term, cashier, new_id())  # (op_seq order: the push's order)
    opened = open_op(term, cashier)
    res = _results(term, unknown, opened,
                   close_op(term, cashier, opened["entity_id"], over_short=0),
                   close_op(term, cashier, opened["entity_id"]),
                   close_op(term, cashier, opened["entity_id"]))
    assert [r["status"] for r in res] == ["rejected", "applied", "rejected", "applied",
                                          "rejected"], res
    assert "never opened" in res[0]["reason"]
    assert "counted cash minus the expected cash" in res[2]["reason"]
    assert "already closed" in res[4]["reason"]
    theirs = open_op(other, cashier)
    assert _results(other, theirs)[0]["status"] == "applied"
    res = _results(term, close_op(term, cashier, theirs["entity_id"]))
    assert "belongs to another till" in res[0]["reason"], res


def test_a_stock_person_may_not_open_a_shift_and_a_float_must_add_up(tenant: Tenant) -> None:
    term = tenant.term
    res = _results(term, open_op(term, tenant.staff[Role.STOCK]),
                   open_op(term, tenant.staff[Role.CASHIER], opening_float=100,
                           counted={"50": 1}))
    assert [r["status"] for r in res] == ["rejected", "rejected"], res
    assert "may not do shift.open" in res[0]["reason"]
    assert "not the sum" in res[1]["reason"]


def test_openapi_lists_the_shift_operations_and_state(tenant: Tenant) -> None:
    with tenant.server.client() as c:
        spec = c.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    payloads = schemas["Operation"]["x-op-payloads"]
    assert payloads["shift.open"] == "#/components/schemas/ShiftOpen"
    assert payloads["shift.close"] == "#/components/schemas/ShiftClose"
    assert set(schemas["ShiftOpen"]["required"]) == {"shift_id", "opened_at", "opening_float"}
    assert set(schemas["ShiftClose"]["required"]) == {
        "shift_id", "closed_at", "counted_cash", "expected_cash", "over_short"}
    assert {"shift.open", "shift.close"} <= set(
        schemas["OperationByType"]["discriminator"]["mapping"])
    assert schemas["Change"]["x-entity-states"]["shift"].endswith("/ShiftState")
    description = spec["info"]["description"]
    for row in ("| `shift.open` | the new shift's id | `ShiftOpen` |",
                "| `shift.close` | the shift's id | `ShiftClose` |"):
        assert row in description
