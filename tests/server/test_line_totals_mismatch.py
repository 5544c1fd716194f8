"""A sale's line whose ``gross``, ``net``, ``tax`` or ``total`` is not what the server
computes from its price, quantity, rate and discounts is applied and flagged
``line_totals_mismatch`` (as ``totals_mismatch`` flags the order's figures: never
refused), and the audit entry names the line with the server's figures: a push through
the bulk writer and one by one, and POST /offline-orders, on SQLite and PostgreSQL.
Before, only the order's totals were compared: a till's line total of 400 on a 500 line
(its other line 100 more, so the order's totals were right) passed unnoticed, though the
analytics' product revenue counts the lines' totals."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.domain.ids import new_id
from app.domain.permissions import Role
from app.domain.totals import LineInput, compute
from server.db.models import AuditEntry, Order
from server.sync import chunk
from server.sync.order_decision import undiscounted_totals
from sync.payloads import OrderLineData
from tests.server.support import Tenant, line


def _skewed_lines() -> list[dict[str, Any]]:
    """Two lines whose totals are off by 100 each way: the order's sums stay right."""
    first, second = line(None, 500, 1000, 200_000), line(None, 300, 2000, 0)
    first["net"] = first["total"] = first["gross"] - 100
    first["tax"] = 67  # (500 inclusive of 20 %: 83; on 400 it would be 67)
    second["net"] = second["total"] = second["gross"] + 100
    second["tax"] = 16  # (0 %: 0) the order's tax is then 83: the server's
    return [first, second]


def _server_figures(tenant: Tenant, order_id: str) -> tuple[list[str], dict[str, Any]]:
    with tenant.server.ctx.reader() as s:
        order = s.get(Order, order_id)
        assert order is not None
        audit = s.scalars(select(AuditEntry).where(AuditEntry.entity_id == order_id)
                          .order_by(AuditEntry.id)).first()
        assert audit is not None
        return list(order.flags), audit.changes["server_totals"]


def _check(tenant: Tenant, order_id: str, lines: list[dict[str, Any]]) -> None:
    flags, server = _server_figures(tenant, order_id)
    assert "line_totals_mismatch" in flags and "totals_mismatch" not in flags, flags
    # the differing lines, by number, with the server's figures
    assert server["lines"] == [
        {"line": 1, "id": lines[0]["id"], "gross": 500, "net": 500, "tax": 83, "total": 500},
        {"line": 2, "id": lines[1]["id"], "gross": 600, "net": 600, "tax": 0, "total": 600}]


@pytest.mark.parametrize("path", ["bulk", "one_by_one"])
def test_a_pushed_line_off_the_servers_figures_is_applied_and_flagged(
        tenant: Tenant, path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    term, cashier = tenant.term, tenant.staff[Role.CASHIER]
    if path == "one_by_one":
        monkeypatch.setattr(chunk, "is_bulk", lambda op: False)
    lines = _skewed_lines()
    op = term.order_create(cashier, lines=lines)
    assert (op["payload"]["total"], op["payload"]["tax"]) == (1100, 83)  # the right sums
    fine = term.order_create(cashier, lines=[line(None, 500, 1000, 200_000)])
    results = term.push([op, fine])["results"]
    assert [r["status"] for r in results] == ["applied", "applied"], results
    assert "line_totals_mismatch" in results[0]["flags"]
    assert "line_totals_mismatch" not in results[1]["flags"]
    _check(tenant, op["entity_id"], lines)
    flags, server = _server_figures(tenant, fine["entity_id"])
    assert "line_totals_mismatch" not in flags and "lines" not in (server or {})


def test_a_rest_order_with_a_line_off_the_servers_figures_is_flagged(tenant: Tenant) -> None:
    lines = _skewed_lines()
    oid = new_id()
    body = {"id": oid, "store_id": tenant.store_id, "currency": "EUR", "tax_inclusive": True,
            "lines": lines, "subtotal": 1100, "discount": 0, "tax": 83, "total": 1100,
            "created_at": datetime.now(UTC).isoformat()}
    with tenant.server.client() as c:
        r = c.post("/offline-orders", json=body, headers=tenant.login(Role.OWNER))
    assert r.status_code == 201, r.text
    _check(tenant, oid, lines)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(-5000, 5000), st.integers(1, 5000),
                          st.sampled_from([0, 70_000, 200_000])), min_size=1, max_size=5),
       st.booleans(), st.integers(0, 3), st.sampled_from(["gross", "net", "tax", "total"]))
def test_lines_figured_as_compute_figures_them_are_never_flagged(
        lines: list[tuple[int, int, int]], inclusive: bool, which: int, name: str) -> None:
    """A line as app/domain/totals.py's compute figures it (what a till sends) is not
    flagged by the server's shorter arithmetic of an undiscounted sale; one figure off
    by a cent is, with the server's figures."""
    t = compute([LineInput(*li) for li in lines], inclusive=inclusive)
    data = [OrderLineData(id=new_id(), product_id=None, name="Item", unit_price=price,
                          qty_milli=qty, tax_rate_ppm=rate, gross=lt.gross, net=lt.net,
                          tax=lt.tax, total=lt.total)
            for (price, qty, rate), lt in zip(lines, t.lines, strict=True)]
    differing: list[dict[str, Any]] = []
    undiscounted_totals(data, inclusive, differing)
    assert differing == []
    n = which % len(data)
    data[n] = data[n].model_copy(update={name: getattr(data[n], name) + 1})
    undiscounted_totals(data, inclusive, differing)
    lt = t.lines[n]
    assert differing == [{"line": n + 1, "id": data[n].id, "gross": lt.gross, "net": lt.net,
                          "tax": lt.tax, "total": lt.total}]
