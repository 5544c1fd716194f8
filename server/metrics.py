"""Prometheus metrics, one registry per app instance."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from server.metrics_fleet import FleetCollector, LagReports, QueueClock

#: (store id, order type, orders, gross revenue in minor units) per store and order type
BusinessRows = Callable[[], list[tuple[str, str, int, int]]]


class BusinessCollector(Collector):
    """Orders and revenue by store and order type, read from the analytics totals at
    each scrape (so every worker process answers the same, and a restart loses none)."""

    def __init__(self) -> None:
        self.source: BusinessRows | None = None

    def collect(self) -> Iterator[Any]:
        orders = GaugeMetricFamily("tillsync_orders", "Orders kept (not deleted), all time",
                                   labels=["store", "order_type"])
        revenue = GaugeMetricFamily("tillsync_revenue_minor_units",
                                    "Gross revenue of kept orders, all time (minor units)",
                                    labels=["store", "order_type"])
        for store, kind, count, gross in (self.source() if self.source else []):
            orders.add_metric([store, kind], count)
            revenue.add_metric([store, kind], gross)
        yield orders
        yield revenue


#: (organization id, journal holds, entries checked, checked at in seconds since the epoch)
JournalRows = Callable[[], list[tuple[str, bool, int, float]]]


class JournalCollector(Collector):
    """The latest check of each organization's journal (server/journal/status.py), read
    from the database at each scrape, so every worker process answers the same."""

    def __init__(self) -> None:
        self.source: JournalRows | None = None

    def collect(self) -> Iterator[Any]:
        holds = GaugeMetricFamily("tillsync_journal_ok",
                                  "1 if the organization's journal held at its latest check, "
                                  "0 if an entry was edited, removed, inserted or reordered",
                                  labels=["org"])
        entries = GaugeMetricFamily("tillsync_journal_entries",
                                    "Entries in the organization's journal at its latest check",
                                    labels=["org"])
        checked = GaugeMetricFamily("tillsync_journal_checked_timestamp_seconds",
                                    "When the organization's journal was last checked",
                                    labels=["org"])
        for org, ok, count, at in (self.source() if self.source else []):
            holds.add_metric([org], 1 if ok else 0)
            entries.add_metric([org], count)
            checked.add_metric([org], at)
        yield holds
        yield entries
        yield checked


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
        # per process, as they happen: how many pushes each group commit wrote together,
        # and how long a push's chunk waited in the queue for the writer
        self.group_size = Histogram(
            "tillsync_group_commit_pushes", "Pushes written in one push-writer transaction",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128), registry=self.registry,
        )
        self.group_wait = Histogram(
            "tillsync_group_commit_wait_seconds",
            "Time a push's chunk waited for the push writer before its transaction began",
            buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5),
            registry=self.registry,
        )
        # each till's reported sync lag, last seen, quarantine, conflicts, webhooks and
        # the database pool, read at each scrape (server/metrics_fleet.py)
        self.lag_reports = LagReports()
        self.queue_clock = QueueClock()
        self.fleet = FleetCollector()
        self.registry.register(self.fleet)
        self.business = BusinessCollector()
        self.registry.register(self.business)
        self.journal = JournalCollector()
        self.registry.register(self.journal)
