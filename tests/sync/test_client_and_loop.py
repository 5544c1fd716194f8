"""Error envelope parsing, backoff, the background loop, and gap_from handling."""

from __future__ import annotations

import asyncio
import random
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from sync.client import (
    AuthError,
    CursorExpired,
    PermanentError,
    SyncClient,
    TransientError,
    error_from_response,
)
from sync.service import SyncService, backoff_delay


def envelope(status: int, code: str, message: str, details=None, headers=None) -> httpx.Response:
    return httpx.Response(status, headers=headers or {}, json={
        "error": {"code": code, "message": message, "request_id": "rid-1", "details": details}})


def test_error_envelope_becomes_typed_exceptions() -> None:
    e = error_from_response(envelope(429, "rate_limited", "Slow down", headers={"Retry-After": "7"}))
    assert isinstance(e, TransientError) and e.retry_after == 7 and e.code == "rate_limited"
    e = error_from_response(envelope(503, "unavailable", "busy"))
    assert isinstance(e, TransientError) and e.request_id == "rid-1"
    e = error_from_response(envelope(410, "cursor_expired", "old", {"horizon": 42}))
    assert isinstance(e, CursorExpired) and e.horizon == 42
    e = error_from_response(envelope(401, "invalid_token", "Unknown or revoked terminal"))
    assert isinstance(e, AuthError) and "revoked" in str(e)
    e = error_from_response(envelope(422, "validation_error", "The request is not valid", []))
    assert isinstance(e, PermanentError) and not isinstance(e, AuthError)
    e = error_from_response(httpx.Response(502, text="<html>bad gateway</html>"))
    assert isinstance(e, TransientError) and e.status == 502


def test_network_errors_and_timeouts_are_transient() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    async def go(handler):
        async with SyncClient("http://till.test", "tt_x", transport=httpx.MockTransport(handler)) as c:
            await c.me()

    with pytest.raises(TransientError, match="Cannot reach"):
        asyncio.run(go(refuse))
    with pytest.raises(TransientError, match="did not answer in time"):
        asyncio.run(go(slow))


def test_bearer_token_is_sent() -> None:
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["auth"] = request.headers.get("authorization")
        return httpx.Response(200, json={"id": "t"})

    async def go():
        async with SyncClient("http://till.test", "tt_abc", transport=httpx.MockTransport(handler)) as c:
            return await c.me()

    assert asyncio.run(go()) == {"id": "t"} and seen["auth"] == "Bearer tt_abc"


def test_a_real_request_under_qasync_finds_sniffio_once(qapp) -> None:
    """httpcore asks sniffio which loop runs it for every lock it makes (four a request):
    sniffio is a dependency, so the ask is a look-up in sys.modules, never a failed import
    that searches sys.path again; and under the desktop's qasync loop it answers asyncio
    (a real socket, not a mock transport: the locks are httpcore's)."""
    import qasync
    from httpcore._synchronization import current_async_library

    class Me(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = b'{"id": "t"}'
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    http = ThreadingHTTPServer(("127.0.0.1", 0), Me)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)

    async def go():
        async with SyncClient(f"http://127.0.0.1:{http.server_port}", "tt_x") as c:
            return await c.me(), await c.me(), current_async_library()

    try:
        with loop:
            assert loop.run_until_complete(go()) == ({"id": "t"}, {"id": "t"}, "asyncio")
    finally:
        asyncio.set_event_loop(None)
        http.shutdown()
        http.server_close()
    assert sys.modules.get("sniffio") is not None  # imported, not recorded absent


def test_backoff_grows_with_jitter_and_honours_retry_after() -> None:
    rng = random.Random(1)
    delays = [backoff_delay(n, 2.0, 60.0, rng=rng) for n in range(1, 9)]
    assert 1.0 <= delays[0] <= 2.0 and all(d <= 60.0 for d in delays)
    assert delays[5] >= 30.0  # capped at 60, at least half of the cap
    assert backoff_delay(1, 2.0, 60.0, retry_after=30.0, rng=rng) == 30.0


def test_loop_retries_on_a_timer_and_wakes_on_poke(till_factory) -> None:
    till = till_factory("A")
    calls: list[str] = []
    real = till.service()

    async def scenario():
        service = SyncService(till.store, real.client_factory, interval_s=30.0,
                              backoff_base_s=0.05, backoff_max_s=0.1)
        statuses = []
        service.add_listener(statuses.append)
        original = service.run_once
        failures = {"left": 2}

        async def flaky():
            calls.append("run")
            if failures["left"]:
                failures["left"] -= 1
                service.online = False
                raise TransientError("network down")
            return await original()

        service.run_once = flaky  # type: ignore[method-assign]
        task = asyncio.create_task(service.loop())
        for _ in range(200):  # two quick backoff retries, then success
            await asyncio.sleep(0.02)
            if len(calls) >= 3 and service.online:
                break
        assert len(calls) == 3 and service.online
        till.sell()  # a local write, then poke: synced long before the 30 s timer
        service.poke()
        for _ in range(200):
            await asyncio.sleep(0.02)
            if service.status().waiting == 0:
                break
        assert len(calls) == 4 and service.status().waiting == 0
        service.stop()
        await asyncio.wait_for(task, 5)
        return statuses

    statuses = asyncio.run(scenario())
    assert statuses and statuses[-1].online and statuses[-1].waiting == 0


def test_gap_from_resends_from_the_missing_op(till_factory, tenant) -> None:
    """A server restored from a backup lost our ops: they are resent, same ids."""
    from sqlalchemy import select

    from app.store.models import OutboxOperation
    from server.db.models import ProcessedOp, Terminal

    till = till_factory("A")
    s1 = till.sell(100)
    till.sync()
    s2 = till.sell(200)
    with tenant.server.ctx.writer.begin() as s:  # the "restore": forget op 1 was ever applied
        term = s.get(Terminal, till.store.device_id)
        term.last_applied_seq = 0
        s.query(ProcessedOp).filter(ProcessedOp.device_id == term.id).delete()
        from server.db.models import FeedEntry, Order, OrderLine, Payment, Shift, StockMovement
        for model in (Payment, OrderLine):
            s.query(model).filter(model.order_id == s1.order_id).delete()
        s.query(StockMovement).filter(StockMovement.reference == s1.reference).delete()
        shift_id = s.query(Shift.id).filter(Shift.terminal_id == term.id).scalar()
        s.query(FeedEntry).filter(FeedEntry.entity_id.in_([s1.order_id, shift_id])).delete()
        s.query(Order).filter(Order.id == s1.order_id).delete()
        s.query(Shift).filter(Shift.id == shift_id).delete()  # (op 1: the shift s1 opened)
    report = till.sync()
    assert report.push.resent_from == 1
    with till.store.db.read() as s:
        assert s.scalars(select(OutboxOperation.status).order_by(OutboxOperation.op_seq)).all() \
            == ["done", "done", "done"]
    with tenant.server.ctx.reader() as s:
        from server.db.models import Order

        assert s.get(Order, s1.order_id) is not None and s.get(Order, s2.order_id) is not None
