"""A push of sales to a server with no webhook URL writes no event rows (issue 17).

The server reads an event only through its webhook deliveries, and a delivery is made
only for the URLs configured when the event is written, so without a URL a sale's two
event rows (the order's whole state again, and its payment) were never read. The bulk
writer (server/sync/bulk.py) now builds none; the analytics rollups, which count the
same events, still come out exact (they are fed from memory)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from server.db.models import Event, Order, WebhookDelivery
from server.sync import bulk
from tests.server.support import Tenant
from tests.server.test_analytics_batches import DAY, _assert_rollups_hold, _sales


def _counts(tenant: Tenant) -> tuple[int, int, int]:
    with tenant.server.ctx.reader() as s:
        events = s.scalar(select(func.count()).select_from(Event)
                          .where(Event.org_id == tenant.org_id)) or 0
        deliveries = s.scalar(select(func.count()).select_from(WebhookDelivery)
                              .join(Event, Event.id == WebhookDelivery.event_id)
                              .where(Event.org_id == tenant.org_id)) or 0
        orders = s.scalar(select(func.count()).select_from(Order)
                          .where(Order.org_id == tenant.org_id)) or 0
    return events, deliveries, orders


@pytest.mark.parametrize("urls", [[], ["http://127.0.0.1:9/hook"]])
def test_a_push_writes_events_only_for_a_webhook_url(tenant: Tenant, urls: list[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tenant.server.ctx.settings, "webhook_urls", urls)
    made = []
    real_event = bulk.BulkOrders._event
    monkeypatch.setattr(bulk.BulkOrders, "_event",
                        lambda self, *a: made.append(a) or real_event(self, *a))
    start = datetime(DAY.year, DAY.month, DAY.day, 22, 50, tzinfo=UTC)
    sales = _sales(tenant, start, 12)
    events, deliveries, orders = _counts(tenant)
    assert {r["status"] for r in tenant.term.push(sales)["results"]} == {"applied"}
    events_after, deliveries_after, orders_after = _counts(tenant)
    assert orders_after - orders == len(sales)  # through the bulk writer:
    paid = sum(len(op["payload"]["payments"]) for op in sales)
    if urls:
        assert len(made) == len(sales) + paid
        assert events_after - events == len(sales) + paid  # created + payment.received
        assert deliveries_after - deliveries == len(sales) + paid
    else:
        assert made == []
        assert (events_after, deliveries_after) == (events, deliveries)
    _assert_rollups_hold(tenant)  # the rollups count the same sales and payments
