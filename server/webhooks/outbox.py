"""Writing domain events to the server-side outbox, inside the caller's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.domain.ids import new_id
from server import tracing
from server.analytics import consumer as analytics
from server.db.base import utcnow
from server.db.models import Event, WebhookDelivery

EVENT_TYPES = (
    "offline_order.created",
    "offline_order.updated",
    "offline_order.deleted",
    "payment.received",
    "conflict.created",
    "refund.created",
    "approval.requested",
    "approval.decided",
    "product.created",
    "product.updated",
    "product.deleted",
    "shift.closed",
)


def emit(
    session: Session, urls: list[str], org_id: str, event_type: str, data: dict[str, Any]
) -> Event:
    """Record an event and one pending delivery per configured webhook URL."""
    now = utcnow()
    event = Event(
        id=new_id(), org_id=org_id, type=event_type, created_at=now,
        payload={"type": event_type, "org_id": org_id, "data": data},
        trace_parent=tracing.traceparent(),
    )
    event.payload["id"] = event.id
    event.payload["created_at"] = now.isoformat()
    session.add(event)
    session.flush()
    analytics.consume(session, org_id, event_type, data)  # the rollups (issue 15)
    for url in urls:
        session.add(WebhookDelivery(id=new_id(), event_id=event.id, url=url, next_attempt_at=now))
    return event
