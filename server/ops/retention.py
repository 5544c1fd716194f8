"""What the server keeps, and for how long (``tillsync-server housekeeping``).

Why limits: the change feed and the webhook deliveries grow with every sale and were
kept forever. Defaults (Settings ``retain_*``, TILLSYNC_RETAIN_* variables; 0 keeps
forever):

- the change feed: entries older than 90 days are compacted per store (POST
  /sync/compact's rule: a till whose cursor is older gets HTTP 410 and loads a
  snapshot, keeping its outbox; nothing is lost, the current state is in the tables);
- webhook deliveries delivered or given up more than 30 days ago are deleted (pending
  ones never: they are still being tried);
- never: the audit trail, processed_ops (exactly-once depends on it), orders and
  payments. The till's printed print jobs have their own setting (keep_printed, 7 days,
  Settings > Printers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select

from server.context import AppContext
from server.db.base import utcnow
from server.db.models import FeedEntry, Store, WebhookDelivery
from server.feed import service as feed


@dataclass
class Housekept:
    compacted: dict[str, int] = field(default_factory=dict)  # store id -> new horizon
    deliveries_deleted: int = 0


def compact_feeds(ctx: AppContext, older_than: datetime) -> dict[str, int]:
    """Compact each store's feed up to its last entry older than ``older_than``."""
    with ctx.reader() as s:
        stores = s.execute(select(Store.id, Store.org_id, Store.feed_horizon)).all()
        upto = dict(s.execute(
            select(FeedEntry.store_id, func.max(FeedEntry.position))
            .where(FeedEntry.created_at < older_than).group_by(FeedEntry.store_id)).all())
    done: dict[str, int] = {}
    for store_id, org_id, horizon in stores:
        position = upto.get(store_id)
        if position is not None and position > horizon:
            done[store_id] = feed.compact(ctx, org_id, store_id, int(position))
    return done


def prune_deliveries(ctx: AppContext, older_than: datetime) -> int:
    """Delete deliveries delivered or given up before ``older_than``."""
    t = WebhookDelivery
    with ctx.writer.begin() as s:
        result = s.execute(delete(t).where(
            t.status.in_(("delivered", "failed")),
            func.coalesce(t.delivered_at, t.next_attempt_at) < older_than))
        return int(getattr(result, "rowcount", 0) or 0)


def housekeeping(ctx: AppContext, now: datetime | None = None) -> Housekept:
    """Apply the retention settings once (from cron, or a timer)."""
    now = now or utcnow()
    settings = ctx.settings
    done = Housekept()
    if settings.retain_feed_days:
        done.compacted = compact_feeds(ctx, now - timedelta(days=settings.retain_feed_days))
    if settings.retain_webhook_deliveries_days:
        done.deliveries_deleted = prune_deliveries(
            ctx, now - timedelta(days=settings.retain_webhook_deliveries_days))
    return done
