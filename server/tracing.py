"""OpenTelemetry tracing of the server, off unless the standard ``OTEL_*`` variables ask.

On when ``OTEL_TRACES_EXPORTER`` names an exporter (``otlp``, ``console``; a comma list),
or when it is unset and ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``..._TRACES_ENDPOINT``) is
set (then OTLP over HTTP/protobuf); off with ``OTEL_SDK_DISABLED=true`` or
``OTEL_TRACES_EXPORTER=none``. The SDK reads the rest itself: ``OTEL_SERVICE_NAME``
(default here ``tillsync-server``), ``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_TRACES_SAMPLER``
(``parentbased_always_on`` by default), ``OTEL_EXPORTER_OTLP_HEADERS``, ``OTEL_BSP_*``.

What a trace holds (docs/operations.md, "Traces"):

- a server span per request, made by the FastAPI instrumentation around the whole
  middleware stack, so the push shortcut (server/sync/fast_push.py, which bypasses
  FastAPI's routing) has one too; the request id as ``tillsync.request_id``, the
  access log line carries the trace id;
- per push chunk, ``push.group_commit.wait`` (queued until the push writer took it) and
  ``push.group_commit`` (the writer's transaction, child of the first push of the group,
  linked to the others, with ``tillsync.pushes``), whose children are the SQL statements
  (SQLAlchemy instrumentation) of the transaction;
- the webhook deliveries' HTTP requests (httpx instrumentation);
- any span made by hand with :func:`span`.

Off, nothing is instrumented: :func:`span` returns a shared null context manager and the
other helpers return at their first test (a module global), so the push's fast path pays
a function call per hook.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

if TYPE_CHECKING:
    from fastapi import FastAPI
    from opentelemetry.sdk.trace import TracerProvider
    from sqlalchemy import Engine

log = logging.getLogger("tillsync.server.tracing")

SERVICE_NAME = "tillsync-server"
#: requests left untraced (probes and scrapes, many a minute)
EXCLUDED_URLS = "/health,/metrics"

_tracer: trace.Tracer | None = None
_NULL: AbstractContextManager[None] = contextlib.nullcontext()
_group = threading.local()


def enabled() -> bool:
    return _tracer is not None


def exporters_asked(env: Mapping[str, str]) -> list[str]:
    """The exporters the OTEL_* variables ask for ([] = tracing off)."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return []
    names = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if not names:
        endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get(
            "OTEL_EXPORTER_OTLP_ENDPOINT")
        return ["otlp"] if endpoint else []
    asked = [n.strip() for n in names.split(",") if n.strip() and n.strip() != "none"]
    for name in asked:
        if name not in ("otlp", "console"):
            log.warning("OTEL_TRACES_EXPORTER=%s: only otlp and console are shipped", name)
    return [n for n in asked if n in ("otlp", "console")]


def provider_from_env(env: Mapping[str, str] | None = None) -> TracerProvider | None:
    """A tracer provider with the exporters the environment asks for, or None (off)."""
    env = os.environ if env is None else env
    asked = exporters_asked(env)
    if not asked:
        return None
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    resource = Resource.create({} if env.get("OTEL_SERVICE_NAME")
                               else {"service.name": SERVICE_NAME})
    provider = TracerProvider(resource=resource)
    for name in asked:
        if name == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        else:
            provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    log.info("tracing on: %s", ", ".join(asked))
    return provider


class Tracing:
    """What :func:`install` switched on for one app, undone by :meth:`shutdown`."""

    def __init__(self, provider: TracerProvider, engine: Engine) -> None:
        self.provider = provider
        self.engine = engine
        self.engine_tracer: Any = None

    def shutdown(self) -> None:
        global _tracer
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
        from sqlalchemy import event

        HTTPXClientInstrumentor().uninstrument()
        if self.engine_tracer is not None:
            self.engine_tracer.remove_all_event_listeners()
        for name in ("commit", "rollback"):
            if event.contains(self.engine, name, _end_group):
                event.remove(self.engine, name, _end_group)
        _tracer = None
        self.provider.shutdown()


def install(app: FastAPI, engine: Engine, provider: TracerProvider | None = None
            ) -> Tracing | None:
    """Trace ``app`` and ``engine`` with ``provider`` (default: the environment's);
    None, and nothing touched, when tracing is off."""
    global _tracer
    provider = provider if provider is not None else provider_from_env()
    if provider is None:
        return None
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from sqlalchemy import event

    on = Tracing(provider, engine)
    _tracer = provider.get_tracer("tillsync.server")
    FastAPIInstrumentor.instrument_app(app, tracer_provider=provider,
                                       excluded_urls=EXCLUDED_URLS,
                                       exclude_spans=["receive", "send"])
    from opentelemetry.metrics import NoOpMeterProvider

    pool_usage = NoOpMeterProvider().get_meter("tillsync.server.db").create_up_down_counter(
        "db.client.connections.usage")  # the pool is on /metrics already
    on.engine_tracer = EngineTracer(provider.get_tracer("tillsync.server.db"), engine,
                                    pool_usage, enable_commenter=False)
    for name in ("commit", "rollback"):
        event.listen(engine, name, _end_group)
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    return on


def span(name: str, **attrs: Any) -> AbstractContextManager[Any]:
    """A child span of the current one, ``tillsync.<key>`` attributes; a no-op when off:

        with tracing.span("push.decide", ops=len(ops)):
            ...
    """
    if _tracer is None:
        return _NULL
    return _tracer.start_as_current_span(
        name, attributes={f"tillsync.{k}": v for k, v in attrs.items()})


def sql_span(statement: str, **attrs: Any) -> AbstractContextManager[Any]:
    """A span for SQL run on the driver's own cursor (server/db/raw_query.py,
    bulk_insert.insert_together), which SQLAlchemy's instrumentation does not see: its
    text as ``db.statement``, as that instrumentation records a statement; a no-op when
    off."""
    if _tracer is None:
        return _NULL
    attributes: dict[str, Any] = {f"tillsync.{k}": v for k, v in attrs.items()}
    attributes["db.statement"] = statement
    return _tracer.start_as_current_span("db.raw", attributes=attributes)


def annotate(**attrs: Any) -> None:
    """Set ``tillsync.<key>`` attributes on the current span (a no-op when off)."""
    if _tracer is None:
        return
    current = trace.get_current_span()
    if current.is_recording():
        current.set_attributes({f"tillsync.{k}": v for k, v in attrs.items()})


def tag_request(request_id: str) -> str:
    """Put the request id on the request's span; its trace id (hex) for the access log,
    "" when off or not sampled."""
    if _tracer is None:
        return ""
    current = trace.get_current_span()
    if not current.is_recording():
        return ""
    current.set_attribute("tillsync.request_id", request_id)
    return format(current.get_span_context().trace_id, "032x")


def start_wait() -> Any:
    """A ``push.group_commit.wait`` span under the current one, not made current (it is
    ended in the push writer's thread by :func:`start_group`); None when off."""
    if _tracer is None:
        return None
    return _tracer.start_span("push.group_commit.wait")


def start_group(waits: list[Any]) -> None:
    """In the push writer's thread, as its transaction begins: end the group's wait
    spans and open ``push.group_commit`` (current in this thread until the transaction
    commits or rolls back, so its statements are its children)."""
    if _tracer is None:
        return
    _end_group()
    waits = [w for w in waits if w is not None]
    for wait in waits:
        wait.set_attribute("tillsync.pushes", len(waits))
        wait.end()
    parent = trace.set_span_in_context(waits[0]) if waits else None
    links = [trace.Link(w.get_span_context()) for w in waits[1:]]
    group = _tracer.start_span("push.group_commit", context=parent, links=links,
                               attributes={"tillsync.pushes": len(waits)})
    _group.open = (group, otel_context.attach(trace.set_span_in_context(group)))


def _end_group(*_args: Any) -> None:
    """Ends this thread's open ``push.group_commit`` span (an engine commit/rollback)."""
    opened = getattr(_group, "open", None)
    if opened is None:
        return
    _group.open = None
    group, token = opened
    with contextlib.suppress(ValueError):  # attached in another context: already gone
        otel_context.detach(token)
    group.end()


_propagator = TraceContextTextMapPropagator()


def traceparent() -> str | None:
    """The current span's W3C ``traceparent`` (kept on an event row, so its webhook
    delivery joins the push's trace later, in the worker); None when off."""
    if _tracer is None:
        return None
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get("traceparent")


def delivery_span(parent: str | None, **attrs: Any) -> AbstractContextManager[Any]:
    """``webhook.deliver``, a child of the span whose ``traceparent`` the event kept (a
    trace of its own without one); the httpx span of the POST is its child. No-op off."""
    if _tracer is None:
        return _NULL
    context = _propagator.extract({"traceparent": parent}) if parent else None
    return _tracer.start_as_current_span(
        "webhook.deliver", context=context,
        attributes={f"tillsync.{k}": v for k, v in attrs.items()})
