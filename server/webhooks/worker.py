"""Delivering outbox events to webhooks: HMAC-signed POSTs, exponential backoff, retries.

Each request carries ``X-Tillsync-Event`` (type), ``X-Tillsync-Delivery`` (delivery id,
stable across retries: receivers deduplicate on it) and ``X-Tillsync-Signature:
sha256=<hex HMAC-SHA256 of the raw body with the webhook secret>``.

Nothing is sent without a secret: an empty key would make the signature worthless
(production mode refuses to start that way, server/config.py; a dev server logs why and
keeps its deliveries pending). A body names customers by id only: the personal values
(name, phone, email) stay sealed on the server, never travel to a receiver.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import timedelta
from typing import Any

import httpx
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select

from server import tracing
from server.context import AppContext
from server.db.base import utcnow
from server.db.models import Event, WebhookDelivery
from server.security import sign_body

log = logging.getLogger("tillsync.server.webhooks")
BATCH = 50
#: The only field of a ``customer`` object a delivery carries.
CUSTOMER_PUBLIC = ("id",)
NO_SECRET = ("webhook deliveries are not sent: TILLSYNC_WEBHOOK_SECRET is empty (make one "
             "with: python -c 'import secrets; print(secrets.token_urlsafe(48))')")


def without_personal(value: Any) -> Any:
    """``value`` with every ``customer`` object reduced to its id (the same walk as the
    sealing of personal data, server/db/base.py)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key == "customer" and isinstance(item, dict):
                out[key] = {k: item[k] for k in CUSTOMER_PUBLIC if k in item}
            elif key == "customer" and isinstance(item, list):
                out[key] = [{k: c[k] for k in CUSTOMER_PUBLIC if k in c}
                            if isinstance(c, dict) else None for c in item]
            else:
                out[key] = without_personal(item)
        return out
    if isinstance(value, list):
        return [without_personal(item) for item in value]
    return value


def delivery_body(payload: dict[str, Any]) -> bytes:
    """The exact bytes POSTed (and signed) for an event."""
    return json.dumps(without_personal(payload), sort_keys=True).encode()


def _claim(ctx: AppContext) -> list[tuple[str, str, str, bytes, str | None]]:
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
                body = delivery_body(event.payload)
                out.append((d.id, d.url, event.type, body, event.trace_parent))
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
    """Try every due delivery once; returns how many were delivered (none, and nothing
    claimed, without a webhook secret)."""
    secret = ctx.settings.webhook_secret
    if not secret.strip():
        log.error(NO_SECRET)
        return 0
    due = await run_in_threadpool(_claim, ctx)
    if not due:
        return 0
    own = client is None
    client = client or httpx.AsyncClient(timeout=ctx.settings.webhook_timeout_s)
    delivered = 0
    try:
        for delivery_id, url, event_type, body, parent in due:
            headers = {
                "Content-Type": "application/json",
                "X-Tillsync-Event": event_type,
                "X-Tillsync-Delivery": delivery_id,
                "X-Tillsync-Signature": sign_body(secret, body),
            }
            error: str | None = None
            with tracing.delivery_span(parent, event=event_type, delivery=delivery_id) as span:
                try:
                    resp = await client.post(url, content=body, headers=headers)
                    if resp.status_code >= 300:
                        error = f"HTTP {resp.status_code}"
                except httpx.HTTPError as exc:
                    error = f"{type(exc).__name__}: {exc}"
                if error is not None and span is not None:
                    span.set_attribute("tillsync.error", error)
            ctx.metrics.webhooks.labels("delivered" if error is None else "failed").inc()
            await run_in_threadpool(_mark, ctx, delivery_id, error)
            delivered += error is None
    finally:
        if own:
            await client.aclose()
    return delivered


async def run_forever(ctx: AppContext, stop: asyncio.Event) -> None:
    """The lifespan task: poll the outbox until ``stop`` is set."""
    if not ctx.settings.webhook_secret.strip():
        log.error(NO_SECRET)
        return
    async with httpx.AsyncClient(timeout=ctx.settings.webhook_timeout_s) as client:
        while not stop.is_set():
            try:
                await deliver_once(ctx, client)
            except Exception:
                log.exception("webhook delivery round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), ctx.settings.webhook_poll_interval_s)
