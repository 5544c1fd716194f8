"""Delivering outbox events to webhooks: HMAC-signed POSTs, exponential backoff, retries.

Each request carries ``X-Tillsync-Event`` (type), ``X-Tillsync-Delivery`` (delivery id,
stable across retries: receivers deduplicate on it) and ``X-Tillsync-Signature:
sha256=<hex HMAC-SHA256 of the raw body with the webhook secret>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import timedelta

import httpx
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select

from server.context import AppContext
from server.db.base import utcnow
from server.db.models import Event, WebhookDelivery
from server.security import sign_body

log = logging.getLogger("tillsync.server.webhooks")
BATCH = 50


def _claim(ctx: AppContext) -> list[tuple[str, str, str, bytes]]:
    """Lease due deliveries (SKIP LOCKED on PostgreSQL) so several workers never send the
    same one at the same time; an unfinished lease simply expires and is retried."""
    now = utcnow()
    lease = timedelta(seconds=ctx.settings.webhook_timeout_s * 2 + 30)
    with ctx.writer.begin() as session:
        deliveries = session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        ).all()
        out = []
        for d in deliveries:
            d.next_attempt_at = now + lease
            event = session.get(Event, d.event_id)
            if event is not None:
                body = json.dumps(event.payload, sort_keys=True).encode()
                out.append((d.id, d.url, event.type, body))
    return out


def _mark(ctx: AppContext, delivery_id: str, error: str | None) -> None:
    settings = ctx.settings
    with ctx.writer.begin() as session:
        d = session.get(WebhookDelivery, delivery_id)
        if d is None or d.status != "pending":
            return
        d.attempts += 1
        if error is None:
            d.status, d.delivered_at, d.last_error = "delivered", utcnow(), None
            return
        d.last_error = error[:1000]
        if d.attempts >= settings.webhook_max_attempts:
            d.status = "failed"
            return
        delay = min(settings.webhook_backoff_max_s,
                    settings.webhook_backoff_base_s * 2 ** (d.attempts - 1))
        d.next_attempt_at = utcnow() + timedelta(seconds=delay)


async def deliver_once(ctx: AppContext, client: httpx.AsyncClient | None = None) -> int:
    """Try every due delivery once; returns how many were delivered."""
    due = await run_in_threadpool(_claim, ctx)
    if not due:
        return 0
    own = client is None
    client = client or httpx.AsyncClient(timeout=ctx.settings.webhook_timeout_s)
    delivered = 0
    try:
        for delivery_id, url, event_type, body in due:
            headers = {
                "Content-Type": "application/json",
                "X-Tillsync-Event": event_type,
                "X-Tillsync-Delivery": delivery_id,
                "X-Tillsync-Signature": sign_body(ctx.settings.webhook_secret, body),
            }
            error: str | None = None
            try:
                resp = await client.post(url, content=body, headers=headers)
                if resp.status_code >= 300:
                    error = f"HTTP {resp.status_code}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            ctx.metrics.webhooks.labels("delivered" if error is None else "failed").inc()
            await run_in_threadpool(_mark, ctx, delivery_id, error)
            delivered += error is None
    finally:
        if own:
            await client.aclose()
    return delivered


async def run_forever(ctx: AppContext, stop: asyncio.Event) -> None:
    """The lifespan task: poll the outbox until ``stop`` is set."""
    async with httpx.AsyncClient(timeout=ctx.settings.webhook_timeout_s) as client:
        while not stop.is_set():
            try:
                await deliver_once(ctx, client)
            except Exception:
                log.exception("webhook delivery round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), ctx.settings.webhook_poll_interval_s)
