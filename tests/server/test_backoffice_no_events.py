"""Back-office writes record events only for a webhook URL (issue 17).

The server reads an event only through its webhook deliveries, made for the URLs
configured when the event is written: with none, ``outbox.emit`` writes no event row
(the push's bulk writer does the same, tests/server/test_push_no_events.py). The
analytics rollups, which count the same events, still come out exact. With a URL each
event and its delivery are written (the delivery names the event: on PostgreSQL the
key is checked), carrying the data they did."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from app.domain.ids import new_id
from app.domain.permissions import Role
from server.db.models import Event, Order, OrderLine, Payment, WebhookDelivery
from tests.server.support import Tenant
from tests.server.test_analytics_batches import _assert_rollups_hold
from tests.server.test_backoffice_answer import _body

HOOK = "http://127.0.0.1:9/hook"


def _events(tenant: Tenant) -> list[tuple[str, dict[str, Any], list[str]]]:
    """(type, payload, delivery URLs) of the organization's events, oldest first."""
    with tenant.server.ctx.reader() as s:
        events = s.scalars(select(Event).where(Event.org_id == tenant.org_id)
                           .order_by(Event.created_at, Event.id)).all()
        return [(e.type, e.payload, list(s.scalars(
            select(WebhookDelivery.url).where(WebhookDelivery.event_id == e.id))))
            for e in events]


@pytest.mark.parametrize("urls", [[], [HOOK]])
def test_back_office_writes_record_events_only_for_a_webhook_url(
        tenant: Tenant, urls: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tenant.server.ctx.settings, "webhook_urls", urls)
    tenant.seen_at(Role.MANAGER)  # works at the store's till
    h = tenant.login(Role.MANAGER)
    now = datetime.now(UTC).isoformat()
    before = _events(tenant)
    body = _body(tenant, created_at=now, payments=[(now, 100)], customer=True)
    with tenant.server.client() as c:
        r = c.post("/offline-orders", json=body, headers=h)
        assert r.status_code == 201, r.text
        pay = {"id": new_id(), "method": "cash", "amount": 50}
        p = c.post(f"/offline-orders/{body['id']}/payments", json=pay, headers=h)
        assert p.status_code == 201, p.text
        # the order and its rows as sent, found by its customer's phone (the index the
        # write sets)
        found = c.get("/offline-orders", params={"phone": "+48600100200"}, headers=h).json()
        assert [o["id"] for o in found["items"]] == [body["id"]]
    with tenant.server.ctx.reader() as s:
        order = s.get(Order, body["id"])
        assert order is not None and order.paid == 150 and order.reference.startswith("GO-")
        lines = s.scalars(select(OrderLine).where(OrderLine.order_id == order.id)
                          .order_by(OrderLine.position)).all()
        assert [(li.id, li.total) for li in lines] == [(li["id"], li["total"])
                                                       for li in body["lines"]]
        assert s.scalar(select(func.count()).select_from(Payment)
                        .where(Payment.order_id == order.id)) == 2
    new = _events(tenant)[len(before):]
    if urls:
        assert [(t, hooks) for t, _, hooks in new] == [
            ("offline_order.created", [HOOK]), ("payment.received", [HOOK]),
            ("payment.received", [HOOK])]
        created = new[0][1]
        assert created["type"] == "offline_order.created"
        assert created["org_id"] == tenant.org_id and created["id"]
        assert created["data"]["id"] == body["id"]
        assert created["data"]["customer"]["id"] == body["customer"]["id"]
        assert new[2][1]["data"]["payment"]["id"] == pay["id"]
    else:
        assert new == []
    _assert_rollups_hold(tenant)  # the rollups count the sale and both payments
