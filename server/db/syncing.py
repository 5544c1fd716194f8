"""Sync bookkeeping: processed operations, quarantine, conflicts, the change feed, events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, JSONType, LogJSON, PersonalJSON, utcnow

BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class ProcessedOp(Base):
    """The stored result of every operation ever processed, kept indefinitely."""

    __tablename__ = "processed_ops"
    __table_args__ = (UniqueConstraint("device_id", "op_seq"),)

    op_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # no foreign key: the push that writes the row holds its terminal's row locked
    # (a key check per operation was a tenth of PostgreSQL's work for a push)
    device_id: Mapped[str] = mapped_column(String(36))
    op_seq: Mapped[int]
    org_id: Mapped[str] = mapped_column(String(36))
    type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(20))
    result: Mapped[dict[str, Any]] = mapped_column(LogJSON)
    processed_at: Mapped[datetime] = mapped_column(default=utcnow)


class QuarantinedOp(Base):
    """A rejected operation with its reason, for admins to fix and resubmit."""

    __tablename__ = "quarantine"
    # the open ones per store and till, for /metrics (migration 0017)
    __table_args__ = (Index("ix_quarantine_open", "store_id", "device_id",
                            sqlite_where=text("status = 'open'"),
                            postgresql_where=text("status = 'open'")),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36), index=True)
    store_id: Mapped[str] = mapped_column(String(36))
    device_id: Mapped[str] = mapped_column(String(36))
    op_id: Mapped[str] = mapped_column(String(64), index=True)
    op_type: Mapped[str] = mapped_column(String(40))
    operation: Mapped[dict[str, Any]] = mapped_column(PersonalJSON)
    reason: Mapped[str] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(20), default="open")  # open, resubmitted, dismissed
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_by: Mapped[str | None] = mapped_column(String(36), default=None)
    #: why it was dismissed, as the person who dismissed it said (resolved_by, resolved_at)
    dismiss_reason: Mapped[str | None] = mapped_column(String(500), default=None)


class Conflict(Base):
    """Both sides of a change that could not be merged; nothing was overwritten."""

    __tablename__ = "conflicts"
    # the open ones per store and till, for /metrics (migration 0017)
    __table_args__ = (Index("ix_conflicts_open", "store_id", "device_id",
                            sqlite_where=text("status = 'open'"),
                            postgresql_where=text("status = 'open'")),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36), index=True)
    store_id: Mapped[str] = mapped_column(String(36), index=True)
    entity_type: Mapped[str] = mapped_column(String(30))
    entity_id: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(40))  # field_conflict, edit_of_deleted, ...
    op_id: Mapped[str | None] = mapped_column(String(64), default=None)
    op_type: Mapped[str | None] = mapped_column(String(40), default=None)
    device_id: Mapped[str | None] = mapped_column(String(36), default=None)
    actor_id: Mapped[str | None] = mapped_column(String(36), default=None)
    fields: Mapped[dict[str, Any]] = mapped_column(PersonalJSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="open")
    resolution: Mapped[dict[str, Any] | None] = mapped_column(PersonalJSON, default=None)
    resolved_by: Mapped[str | None] = mapped_column(String(36), default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FeedEntry(Base):
    """One position of a store's change feed; positions are dense and in commit order."""

    __tablename__ = "feed_entries"
    __table_args__ = (UniqueConstraint("store_id", "position"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    # no foreign key: positions are taken by locking the store's row in the same
    # transaction, and a push writes several entries per operation
    store_id: Mapped[str] = mapped_column(String(36))
    position: Mapped[int] = mapped_column(BigInteger)
    entity_type: Mapped[str] = mapped_column(String(30))
    entity_id: Mapped[str] = mapped_column(String(80))
    version: Mapped[int]
    deleted: Mapped[bool] = mapped_column(default=False)
    data: Mapped[dict[str, Any]] = mapped_column(PersonalJSON(binary=False))
    origin_device_id: Mapped[str | None] = mapped_column(String(36), default=None)
    op_id: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Event(Base):
    """A domain event in the server-side outbox, written with the change it describes."""

    __tablename__ = "events"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36), index=True)
    type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(PersonalJSON(binary=False))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # the writing transaction's W3C traceparent, so its webhook delivery joins the trace
    trace_parent: Mapped[str | None] = mapped_column(String(55), default=None)


class WebhookDelivery(Base):
    """One event to one webhook URL: attempts, next try, delivered or given up."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index(None, "status", "next_attempt_at"),
                      # the undelivered ones, for /metrics (migration 0017)
                      Index("ix_webhook_deliveries_undelivered", "event_id",
                            sqlite_where=text("status IN ('pending', 'failed')"),
                            postgresql_where=text("status IN ('pending', 'failed')")))

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id"), index=True)
    url: Mapped[str] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending, delivered, failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(1000), default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
