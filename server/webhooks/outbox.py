"""Writing domain events to the server-side outbox, inside the caller's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from app.domain.ids import new_id
from server import tracing
from server.analytics import consumer as analytics
from server.db.base import cast_table, utcnow
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


_EVENTS, _DELIVERIES = cast_table(Event), cast_table(WebhookDelivery)


def emit(
    session: Session, urls: list[str], org_id: str, event_type: str, data: dict[str, Any]
) -> str | None:
    """Count the event in the analytics rollups and, when webhook URLs are configured,
    record it with one pending delivery per URL: its id (None with no URL).

    The server reads an event only through its deliveries (the webhook worker, the
    attention view), and a URL added later gets only later events: with none configured
    no event row is written (the push's bulk writer does the same). The rows go in as
    two Core statements in that order (the delivery names the event), on the session's
    connection: no flush of the session's other pending objects, which are flushed
    once when the write ends."""
    analytics.consume(session, org_id, event_type, data)  # the rollups (issue 15)
    if not urls:
        return None
    now = utcnow()
    event_id = new_id()
    conn = session.connection()
    conn.execute(insert(_EVENTS), [{
        "id": event_id, "org_id": org_id, "type": event_type, "created_at": now,
        "payload": {"type": event_type, "org_id": org_id, "data": data, "id": event_id,
                    "created_at": now.isoformat()},
        "trace_parent": tracing.traceparent(),
    }])
    conn.execute(insert(_DELIVERIES), [
        {"id": new_id(), "event_id": event_id, "url": url, "next_attempt_at": now}
        for url in urls])
    return event_id
