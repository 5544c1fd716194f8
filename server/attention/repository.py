"""The reads behind ``GET /attention``: each one query, scoped by organization (and
store where the rows have one)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from server.db.models import Event, QuarantinedOp, Terminal, WebhookDelivery


def silent_terminals(session: Session, org_id: str, store_ids: list[str],
                     before: datetime) -> list[Any]:
    """Terminals of these stores, not revoked, last heard from before ``before`` (or
    never, and enrolled before it); longest silent first."""
    t = Terminal
    return list(session.execute(
        select(t.id, t.name, t.store_id, t.device_code, t.last_seen_at, t.enrolled_at)
        .where(t.org_id == org_id, t.store_id.in_(store_ids), t.revoked.is_(False),
               or_(t.last_seen_at < before,
                   and_(t.last_seen_at.is_(None), t.enrolled_at < before)))
        .order_by(func.coalesce(t.last_seen_at, t.enrolled_at), t.id)))


def quarantine_by_type(session: Session, org_id: str, store_ids: list[str]) -> list[Any]:
    q = QuarantinedOp
    return list(session.execute(
        select(q.op_type, func.count(), func.min(q.created_at))
        .where(q.org_id == org_id, q.store_id.in_(store_ids), q.status == "open")
        .group_by(q.op_type).order_by(q.op_type)))


def latest_quarantined(session: Session, org_id: str, store_ids: list[str],
                       limit: int) -> list[Any]:
    q = QuarantinedOp
    return list(session.execute(
        select(q.op_type, q.device_id, q.reason, q.created_at)
        .where(q.org_id == org_id, q.store_id.in_(store_ids), q.status == "open")
        .order_by(q.created_at.desc(), q.id.desc()).limit(limit)))


def failing_webhooks(session: Session, org_id: str, since: datetime) -> list[Any]:
    """(status, count) of the organization's deliveries given up since ``since`` and of
    those pending after at least one failed attempt."""
    d = WebhookDelivery
    return list(session.execute(
        select(d.status, func.count())
        .join(Event, Event.id == d.event_id)
        .where(Event.org_id == org_id,
               or_(and_(d.status == "failed", d.next_attempt_at >= since),
                   and_(d.status == "pending", d.attempts > 0)))
        .group_by(d.status)))


def last_webhook_error(session: Session, org_id: str, since: datetime) -> Any:
    d = WebhookDelivery
    return session.execute(
        select(d.last_error, d.next_attempt_at)
        .join(Event, Event.id == d.event_id)
        .where(Event.org_id == org_id, d.last_error.is_not(None),
               or_(and_(d.status == "failed", d.next_attempt_at >= since),
                   and_(d.status == "pending", d.attempts > 0)))
        .order_by(d.next_attempt_at.desc()).limit(1)).first()


def terminal_ceiling(session: Session, terminal_id: str) -> str | None:
    return session.scalar(select(Terminal.max_role).where(Terminal.id == terminal_id))


def heard_from(session: Session, terminal_id: str, now: datetime, unless_after: datetime
               ) -> None:
    """Record that the terminal spoke (``last_seen_at``), unless it was already recorded
    after ``unless_after`` (one write a minute at most, not one per request)."""
    t = Terminal
    session.execute(update(t).where(
        t.id == terminal_id, or_(t.last_seen_at.is_(None), t.last_seen_at < unless_after))
        .values(last_seen_at=now).execution_options(synchronize_session=False))
