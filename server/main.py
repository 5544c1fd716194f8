"""create_app(settings): the Tillsync central server as an ASGI app."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI

from server import crypto, metrics_fleet, openapi, tracing
from server.analytics import totals as analytics_totals
from server.auth.endpoints import router as auth_router
from server.config import Settings
from server.context import AppContext
from server.db.engine import make_engine, run_migrations, session_factories
from server.errors import install_error_handlers
from server.health.endpoints import router as health_router
from server.metrics import Metrics
from server.middleware import install_middleware
from server.ratelimit import TokenBucketLimiter
from server.security import make_hasher
from server.security_headers import SecurityHeadersMiddleware
from server.sync import fast_push
from server.sync.endpoints import router as sync_router
from server.sync.group_commit import GroupCommit
from server.tenancy.endpoints import router as tenancy_router
from server.webhooks import worker
from sync.protocol import PROTOCOL_VERSION

log = logging.getLogger("tillsync.server")


def build_context(settings: Settings) -> AppContext:
    engine = make_engine(settings.database_url)
    cipher = crypto.setup(engine, settings)
    crypto.check_fingerprint(engine, cipher)
    writer, reader = session_factories(engine)
    crypto.KeyFollower(engine, settings).attach_to(writer, reader)  # a rotation while running
    return AppContext(
        settings=settings, engine=engine, writer=writer, reader=reader,
        hasher=make_hasher(settings), metrics=Metrics(),
        limiter=TokenBucketLimiter(settings.rate_limit_per_second, settings.rate_limit_burst),
        write_gate=GroupCommit(),
    )


GC_THRESHOLDS = (50_000, 20, 100)


def tune_gc() -> None:
    """Fewer, cheaper garbage collections for a busy server.

    With Python's defaults a full collection ran every few hundred pushes and stopped
    the process for up to 190 ms (measured under benchmarks/sync.py), every request in
    flight waiting. The objects alive after start-up (modules, routes, the ORM's
    mappings) are frozen out of collections, and the young generations are collected
    less often; request objects are freed by reference counting, not by the collector."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The server app; migrations run at start-up unless ``settings.run_migrations`` is off.

    In production mode (PostgreSQL, a non-loopback ``bind_host`` or ``production``) a
    default, short or missing secret raises :class:`server.config.InsecureSettingsError`
    before anything is opened; a dev server (loopback and SQLite) logs a warning."""
    settings = settings or Settings.from_env()
    settings.enforce_secure_defaults()
    if settings.run_migrations:
        run_migrations(settings.database_url)
    ctx = build_context(settings)
    ctx.metrics.business.source = analytics_totals.reader(ctx)
    ctx.metrics.fleet.source = metrics_fleet.reader(ctx.reader)
    ctx.metrics.fleet.engine = ctx.engine

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        tune_gc()
        stop = asyncio.Event()
        task = None
        if settings.webhook_worker_enabled and settings.webhook_urls:
            # with no secret (a dev server) the worker logs why and sends nothing
            task = asyncio.create_task(worker.run_forever(ctx, stop))
        try:
            yield
        finally:
            stop.set()
            if task is not None:
                await task
            await asyncio.to_thread(ctx.write_gate.close)  # queued pushes are written first
            if traced is not None:
                traced.shutdown()  # the spans still buffered are exported
            ctx.engine.dispose()

    app = FastAPI(
        # our own Prometheus metrics and access log; FastAPI's OpenTelemetry hooks cost
        # CPU on every request even with no provider set up (server/tracing.py traces
        # with the OpenTelemetry instrumentation when asked to)
        telemetry={"tracing": False, "metrics": False, "logs": False},
        title="Tillsync server",
        version=f"protocol-{PROTOCOL_VERSION}",
        description="Central server of Tillsync: tenancy, auth, sync push/pull, back office.",
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    install_error_handlers(app)
    install_middleware(app, ctx, shortcuts={("POST", "/sync/push"): fast_push.handle})
    # added last, so outermost: the push shortcut's answers get the headers too
    app.add_middleware(SecurityHeadersMiddleware, settings=settings)
    for router in (health_router, auth_router, tenancy_router, sync_router):
        app.include_router(router)
    _optional_routers(app)
    openapi.install(app)
    # FastAPI builds an included router's routes (a pydantic schema per parameter) on a
    # first request, in the serving thread: ~60 ms of every process's first request, and
    # its warnings filter around that is not thread-safe. Built here, once, instead.
    for _route in openapi.api_routes(app):
        pass
    # OpenTelemetry, only when the OTEL_* variables ask for it (server/tracing.py)
    traced = tracing.install(app, ctx.engine)
    return app


def _optional_routers(app: FastAPI) -> None:
    """Feature routers that may not exist yet in a partial build."""
    import importlib

    for name in ("server.conflicts.endpoints", "server.backoffice.endpoints",
                 "server.backoffice.approvals", "server.backoffice.products",
                 "server.analytics.endpoints", "server.shifts.endpoints",
                 "server.journal.endpoints", "server.ops.endpoints",
                 "server.attention.endpoints"):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name and not name.startswith(str(exc.name)):
                raise
            continue
        app.include_router(module.router)
