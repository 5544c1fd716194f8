"""/metrics (issue 15): orders and revenue by store and order type from the rollups, and
each terminal's sync lag as sent with its push (an old till that sends none still pushes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.domain.ids import new_id
from app.domain.permissions import Role
from sync.client import sync_lag
from sync.protocol import Operation
from tests.server.support import Tenant


def _metric(text: str, name: str, **labels: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_business_metrics_and_sync_lag(tenant: Tenant) -> None:
    term = tenant.term
    cashier = tenant.staff[Role.CASHIER]
    with tenant.server.client() as c:
        ops = [term.order_create(cashier, pay=True) for _ in range(2)]
        r = c.post("/sync/push", headers=term.headers,  # an old till: no lag field
                   json={"operations": [term.prove(op) for op in ops]})
        assert r.status_code == 200 and all(x["status"] == "applied" for x in r.json()["results"])
        text = c.get("/metrics").text
        assert _metric(text, "tillsync_terminal_sync_lag_seconds", terminal=term.device_id) is None
        assert _metric(text, "tillsync_orders", store=tenant.store_id, order_type="offline") == 2
        gross = sum(op["payload"]["total"] for op in ops)
        assert _metric(text, "tillsync_revenue_minor_units", store=tenant.store_id,
                       order_type="offline") == gross
        r = c.post("/sync/push", headers=term.headers, json={
            "operations": [term.order_create(cashier)], "oldest_pending_age_s": 42.5})
        assert r.status_code == 200, r.text
        text = c.get("/metrics").text
        # read from the database at the scrape: the reported age, counted on since the push
        lag = _metric(text, "tillsync_terminal_sync_lag_seconds", store=tenant.store_id,
                      terminal=term.device_id)
        assert lag is not None and 42.5 <= lag < 42.5 + 30
        assert _metric(text, "tillsync_orders", store=tenant.store_id, order_type="offline") == 3
        r = c.post("/sync/push", headers=term.headers, json={
            "operations": [], "oldest_pending_age_s": -1})
        assert r.status_code == 422


def test_the_terminal_sends_its_oldest_pending_age(tenant: Tenant) -> None:
    op = tenant.term.order_create(tenant.staff[Role.CASHIER])
    old = Operation.model_validate(op | {"created_at": (datetime.now(UTC) - timedelta(
        minutes=5)).isoformat()})
    new = Operation.model_validate(op | {"op_id": new_id()})
    lag = sync_lag([new, old])
    assert lag is not None and 299 < lag < 320
    assert sync_lag([]) is None
