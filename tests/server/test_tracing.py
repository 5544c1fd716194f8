"""OpenTelemetry tracing (server/tracing.py): a push through a real server under uvicorn,
traced with the SDK's in-memory exporter, makes one trace: the request's server span
with its request id, the chunk's group-commit wait, the writer's transaction and its SQL
statements; through the FastAPI route and through the push shortcut alike. Off (no
OTEL_* variables), nothing is instrumented."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import uvicorn
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import event

from app.domain.permissions import Role
from server import tracing
from server.config import Settings
from server.main import create_app
from tests.server.conftest import TEST_DATA_KEY
from tests.server.support import Receiver, RunningServer, Tenant, make_tenant


@contextmanager
def traced_server(url: str, exporter: InMemorySpanExporter, **more: Any
                  ) -> Iterator[RunningServer]:
    settings = Settings(
        database_url=url, jwt_secret="test-secret-" + uuid.uuid4().hex,
        argon2_time_cost=1, argon2_memory_kib=8192,
        rate_limit_per_second=10_000, rate_limit_burst=100_000,
        server_data_key=TEST_DATA_KEY, **more)
    app = create_app(settings)
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    traced = tracing.install(app, app.state.ctx.engine, provider)
    assert traced is not None
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", loop="asyncio"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.02)
    try:
        yield RunningServer(f"http://127.0.0.1:{port}", app.state.ctx, settings)
    finally:
        srv.should_exit = True
        thread.join(15)
        sock.close()
        traced.shutdown()


def _trace_of(spans: list[ReadableSpan], rid: str) -> tuple[ReadableSpan, list[ReadableSpan]]:
    server = [s for s in spans if s.attributes and s.attributes.get("tillsync.request_id") == rid]
    assert len(server) == 1, [s.name for s in spans]
    trace_id = server[0].context.trace_id
    return server[0], [s for s in spans if s.context.trace_id == trace_id]


def _traced_sale(server: RunningServer, tenant: Tenant, exporter: InMemorySpanExporter,
                 via: str, name: str) -> str:
    """A new till pushes one paid sale (by the route or, once its token was seen, by the
    shortcut, fast_push.handle) with a request id of its own; the spans before it are
    cleared. Returns the request id."""
    term = tenant.enroll(name=name)
    if via == "shortcut":
        term.push([])
    exporter.clear()
    op = term.order_create(tenant.staff[Role.CASHIER], pay=True)
    rid = f"req-{via}-{uuid.uuid4().hex[:8]}"
    with server.client() as c:
        r = c.post("/sync/push", json={"operations": [op]},
                   headers={**term.headers, "X-Request-ID": rid})
    assert r.status_code == 200, r.text
    assert r.json()["results"][0]["status"] == "applied"
    return rid


def _wait_for(exporter: InMemorySpanExporter, found: Callable[[ReadableSpan], bool],
              seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not any(found(s) for s in exporter.get_finished_spans()):
        assert time.monotonic() < deadline, [s.name for s in exporter.get_finished_spans()]
        time.sleep(0.02)


def _check_push_trace(spans: list[ReadableSpan], rid: str, postgres: bool) -> None:
    request, in_trace = _trace_of(spans, rid)
    assert request.name == "POST /sync/push"
    assert request.attributes is not None
    assert request.attributes.get("http.route") == "/sync/push"
    assert request.attributes.get("tillsync.push_ops") == 1
    by_name = {s.name: s for s in in_trace}
    wait, group = by_name["push.group_commit.wait"], by_name["push.group_commit"]
    assert wait.parent is not None and wait.parent.span_id == request.context.span_id
    assert group.parent is not None and group.parent.span_id == wait.context.span_id
    assert group.attributes is not None and group.attributes["tillsync.pushes"] == 1
    assert wait.end_time is not None and group.start_time is not None
    assert wait.end_time <= group.start_time + 1_000_000  # the wait ends as the write begins
    sql = [s for s in in_trace if s.parent is not None and s.parent.span_id == group.context.span_id]
    statements = " ".join(str((s.attributes or {}).get("db.statement", s.name)) for s in sql)
    # the transaction's statements through SQLAlchemy, and on PostgreSQL the bulk
    # inserts it does not see (COPY straight to the driver) as db.copy spans
    for seen in ("FROM terminals", "UPDATE terminals SET last_applied_seq", "UPDATE stores"):
        assert seen in statements, statements
    copied = {(s.attributes or {}).get("tillsync.table") for s in sql if s.name == "db.copy"}
    if postgres:
        assert {"orders", "order_lines", "payments"} <= copied, copied
    else:
        assert not copied
    assert request.end_time is not None and group.end_time is not None
    assert group.end_time <= request.end_time


@pytest.mark.parametrize("via", ["route", "shortcut"])
def test_a_push_is_one_trace(own_db_url: str, via: str, caplog: pytest.LogCaptureFixture
                             ) -> None:
    caplog.set_level("INFO", logger="tillsync.server.access")
    exporter = InMemorySpanExporter()
    with traced_server(own_db_url, exporter) as server, make_tenant(server) as tenant:
        rid = _traced_sale(server, tenant, exporter, via, "Traced")
        # the server span ends after the answer is sent
        _wait_for(exporter, lambda s: (s.attributes or {}).get("tillsync.request_id") == rid, 5)
        _check_push_trace(list(exporter.get_finished_spans()), rid,
                          own_db_url.startswith("postgresql"))
        request, _ = _trace_of(list(exporter.get_finished_spans()), rid)
        line = [r for r in caplog.records if r.name == "tillsync.server.access"
                and isinstance(r.args, tuple) and rid in r.args]
        assert [getattr(r, "trace_id", None) for r in line] == [
            format(request.context.trace_id, "032x")]  # the log line names the trace
        with server.client() as c:  # probes and scrapes are not traced
            c.get("/health/live")
        assert not [s for s in exporter.get_finished_spans() if "/health" in s.name]
    assert not tracing.enabled()


def test_off_by_default_nothing_is_instrumented(own_db_url: str) -> None:
    assert tracing.exporters_asked({}) == []
    assert tracing.exporters_asked({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}) == ["otlp"]
    assert tracing.exporters_asked({"OTEL_TRACES_EXPORTER": "console,otlp"}) == [
        "console", "otlp"]
    assert tracing.exporters_asked({"OTEL_TRACES_EXPORTER": "none"}) == []
    assert tracing.exporters_asked({"OTEL_SDK_DISABLED": "true",
                                    "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}) == []
    console = tracing.provider_from_env({"OTEL_TRACES_EXPORTER": "console"})
    assert console is not None
    console.shutdown()
    settings = Settings(database_url=own_db_url, jwt_secret="test-secret-" + uuid.uuid4().hex,
                        server_data_key=TEST_DATA_KEY)
    app = create_app(settings)  # the test process has no OTEL_* variables
    engine: Any = app.state.ctx.engine
    try:
        assert not tracing.enabled()
        assert not hasattr(app, "_original_build_middleware_stack")  # no OTel middleware
        assert not event.contains(engine, "commit", tracing._end_group)
        assert tracing.span("x", a=1).__enter__() is None  # the shared null context
        assert tracing.tag_request("rid") == ""
        assert tracing.start_wait() is None
        assert tracing.traceparent() is None
        assert tracing.delivery_span("00-" + "1" * 32 + "-" + "2" * 16 + "-01").__enter__() is None
    finally:
        engine.dispose()


@pytest.mark.parametrize("via", ["route", "shortcut"])
def test_the_webhook_delivery_joins_the_push_trace(own_db_url: str, via: str,
                                                   receiver: Receiver) -> None:
    """The event a push writes keeps the group commit's traceparent; the worker's
    delivery of it, later, is a child of that span, and the POST to the receiver a child
    of the delivery: one trace from the request to the webhook."""
    exporter = InMemorySpanExporter()
    with traced_server(own_db_url, exporter, webhook_urls=[receiver.url],
                       webhook_secret="hook-secret-" + uuid.uuid4().hex) as server, \
            make_tenant(server) as tenant:
        rid = _traced_sale(server, tenant, exporter, via, "Hooked")
        _wait_for(exporter, lambda s: s.attributes is not None
                  and s.attributes.get("tillsync.request_id") == rid, 20)
        trace_id = _trace_of(list(exporter.get_finished_spans()), rid)[0].context.trace_id
        # the delivery of THIS push's event (one of the tenant's set-up may finish first)
        _wait_for(exporter, lambda s: s.name == "webhook.deliver"
                  and s.context.trace_id == trace_id, 20)
        spans = list(exporter.get_finished_spans())
        request, in_trace = _trace_of(spans, rid)
        group = next(s for s in in_trace if s.name == "push.group_commit")
        deliveries = [s for s in in_trace if s.name == "webhook.deliver"]
        assert deliveries, "the delivery is not in the push's trace"
        delivery = deliveries[0]
        assert delivery.parent is not None and delivery.parent.span_id == group.context.span_id
        assert delivery.attributes is not None
        assert delivery.attributes["tillsync.event"] in ("offline_order.created", "payment.received")
        posts = [s for s in in_trace if s.parent is not None
                 and s.parent.span_id == delivery.context.span_id]
        assert posts and all(s.attributes and s.attributes.get("http.request.method",
                                                               s.attributes.get("http.method")) == "POST"
                             for s in posts), [(s.name, s.attributes) for s in posts]
        assert request.end_time is not None and delivery.start_time is not None
    assert receiver.events_of(tenant.org_id)
