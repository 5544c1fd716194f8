"""Prometheus metrics, one registry per app instance."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "tillsync_http_requests_total", "HTTP requests", ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "tillsync_http_request_duration_seconds", "HTTP request latency", ["method", "route"],
            registry=self.registry,
        )
        self.ops = Counter(
            "tillsync_sync_ops_total", "Sync operations processed", ["type", "status"],
            registry=self.registry,
        )
        self.webhooks = Counter(
            "tillsync_webhook_deliveries_total", "Webhook delivery attempts", ["outcome"],
            registry=self.registry,
        )
