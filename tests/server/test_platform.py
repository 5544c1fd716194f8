"""Error envelope, rate limiting, health, metrics, and HMAC-signed webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from app.domain.ids import new_id
from app.domain.permissions import Role
from server.config import Settings
from server.webhooks import worker
from tests.server.support import Receiver, RunningServer, Tenant, running_server


def _assert_envelope(resp, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    assert resp.status_code == status, resp.text
    err = resp.json()["error"]
    assert err["code"] == code and err["message"]
    assert err["request_id"] == resp.headers["X-Request-ID"]
    assert set(err) == {"code", "message", "request_id", "details"}


def test_every_error_uses_the_envelope(server: RunningServer, tenant: Tenant) -> None:
    with server.client() as c:
        _assert_envelope(c.get("/no/such/path"), 404, "not_found")
        _assert_envelope(c.delete("/health"), 405, "method_not_allowed")
        _assert_envelope(c.post("/auth/login", json={"staff_id": 5}), 422, "validation_error")
        _assert_envelope(c.post("/auth/login", content=b"{not json",
                                headers={"content-type": "application/json"}),
                         422, "validation_error")
        _assert_envelope(c.post("/sync/push", json={"operations": []}), 401, "unauthorized")
        _assert_envelope(c.get("/offline-orders/" + new_id(), headers=tenant.login(Role.OWNER)),
                         404, "not_found")
        r = c.get("/no/such", headers={"X-Request-ID": "abc-123"})
        assert r.json()["error"]["request_id"] == "abc-123"


def test_health_ready_and_metrics(server: RunningServer, tenant: Tenant) -> None:
    term = tenant.term
    term.push([term.order_create(tenant.staff[Role.CASHIER])])
    with server.client() as c:
        assert c.get("/health").json() == {"status": "ok", "database": True}
        assert c.get("/health/live").json()["status"] == "ok"
        assert c.get("/health/ready").json()["status"] == "ready"
        text = c.get("/metrics").text
    assert 'tillsync_http_requests_total{method="POST",route="/sync/push",status="200"}' in text
    assert 'tillsync_sync_ops_total{status="applied",type="order.create"}' in text
    assert "tillsync_http_request_duration_seconds_bucket" in text


def test_ready_fails_without_database(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(database_url=f"sqlite:///{tmp_path}/gone/x.db", run_migrations=False)
    with running_server(settings) as srv, srv.client() as c:
        r = c.get("/health/ready")
        assert r.status_code == 503 and r.json()["error"]["code"] == "not_ready"


def test_rate_limit_answers_429_with_retry_after(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(database_url=f"sqlite:///{tmp_path}/rl.db", rate_limit_per_second=0.5,
                        rate_limit_burst=3)
    with running_server(settings) as srv, srv.client() as c:
        codes = [c.get("/auth/me").status_code for _ in range(5)]
        assert codes[:3] == [401, 401, 401] and codes[3] == 429
        r = c.get("/auth/me")
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
        assert r.json()["error"]["code"] == "rate_limited"
        assert c.get("/health/live").status_code == 200  # health is never limited


def test_webhooks_are_signed_retried_and_delivered(
    tenant: Tenant, receiver: Receiver, server: RunningServer
) -> None:
    term, cashier = tenant.term, tenant.staff[Role.CASHIER]
    receiver.fail_next = 1  # the first attempt fails: it must be retried
    create = term.order_create(cashier, pay=True)
    term.push([create, term.op("order.delete", create["entity_id"], tenant.staff[Role.OWNER],
                               {"reason": "test"})])
    deadline = time.monotonic() + 20
    wanted = {"offline_order.created", "payment.received"}
    while time.monotonic() < deadline:
        types = {json.loads(r["body"])["type"] for r in receiver.events_of(tenant.org_id)}
        if wanted <= types:
            break
        time.sleep(0.1)
    events = receiver.events_of(tenant.org_id)
    assert wanted <= {json.loads(r["body"])["type"] for r in events}
    for req in events:
        expected = "sha256=" + hmac.new(b"whsec-test", req["body"], hashlib.sha256).hexdigest()
        assert hmac.compare_digest(req["headers"]["X-Tillsync-Signature"], expected)
        body = json.loads(req["body"])
        assert req["headers"]["X-Tillsync-Event"] == body["type"]
    created = [json.loads(r["body"]) for r in events
               if json.loads(r["body"])["type"] == "offline_order.created"]
    assert created[0]["data"]["id"] == create["entity_id"]


def test_deliver_once_is_callable_directly(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    with Receiver() as rec:
        settings = Settings(database_url=f"sqlite:///{tmp_path}/wh.db", webhook_urls=[rec.url],
                            webhook_secret="s", webhook_worker_enabled=False)
        with running_server(settings) as srv:
            from tests.server.support import make_tenant

            with make_tenant(srv) as t:
                t.term.push([t.term.order_create(t.staff[Role.CASHIER])])
                assert rec.events_of(t.org_id) == []
                delivered = asyncio.run(worker.deliver_once(srv.ctx))
                assert delivered >= 1
                assert [json.loads(r["body"])["type"] for r in rec.events_of(t.org_id)] == [
                    "offline_order.created"]
                assert asyncio.run(worker.deliver_once(srv.ctx)) == 0


def test_backoffice_list_filters_and_delete_permissions(tenant: Tenant) -> None:
    term, cashier = tenant.term, tenant.staff[Role.CASHIER]
    paid = term.order_create(cashier, pay=True)
    pending = [term.order_create(cashier) for _ in range(3)]
    term.push([paid, *pending])
    tenant.seen_at(Role.MANAGER, Role.STOCK)  # work at the store's till
    with tenant.server.client() as c:
        mgr = tenant.login(Role.MANAGER)
        page = c.get("/offline-orders", params={"status": "pending", "limit": 2},
                     headers=mgr).json()
        assert page["total"] == 3 and len(page["items"]) == 2
        page2 = c.get("/offline-orders", params={"status": "pending", "limit": 2, "offset": 2},
                      headers=mgr).json()
        assert len(page2["items"]) == 1
        assert c.get("/offline-orders", params={"offline": "false"},
                     headers=mgr).json()["total"] == 0
        assert c.get("/offline-orders", params={"store_id": tenant.store_id, "status": "completed"},
                     headers=mgr).json()["total"] == 1
        oid = pending[0]["entity_id"]
        for role in (Role.CASHIER, Role.STOCK):
            r = c.request("DELETE", f"/offline-orders/{oid}", json={"reason": "test"},
                          headers=tenant.login(role))
            assert r.status_code == 403 and r.json()["error"]["code"] == "permission_denied"
        r = c.request("DELETE", f"/offline-orders/{oid}", json={"reason": "wrong till"},
                      headers=mgr)
        assert r.status_code == 200 and r.json()["order"]["status"] == "deleted"
        assert [a["action"] for a in r.json()["audit"]] == ["order.create", "order.delete"]
        r = c.request("DELETE", f"/offline-orders/{paid['entity_id']}", json={"reason": "x" * 5},
                      headers=mgr)
        assert r.status_code == 409
