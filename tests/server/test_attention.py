"""GET /attention: what needs attention that only the server knows, on SQLite and
PostgreSQL: a silent terminal, a broken journal (a row edited in the database itself),
an operation quarantined at the server, a failing webhook; never another organization's;
a cashier (and a till whose ceiling is cashier) refused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, text, update

from app.domain.ids import new_id
from app.domain.permissions import Role
from server.db.base import utcnow
from server.db.models import Event, Terminal, WebhookDelivery
from server.journal import status
from sync.protocol import OpType
from tests.server.support import Tenant, make_tenant
from tests.server.test_journal import _attacker, _links, _sales


def _silence(tenant: Tenant, device_id: str, hours: float) -> None:
    with tenant.server.ctx.writer.begin() as s:
        s.execute(update(Terminal).where(Terminal.id == device_id)
                  .values(last_seen_at=utcnow() - timedelta(hours=hours)))


def _get(tenant: Tenant, headers: dict[str, str], path: str = "/attention",
         **params: Any) -> Any:
    with tenant.server.client() as c:
        return c.get(path, headers=headers, params=params)


def _keys(answer: dict[str, Any]) -> dict[str, int]:
    return {i["key"]: i["count"] for i in answer["items"]}


def test_a_quiet_organization_needs_nothing(tenant: Tenant) -> None:
    r = _get(tenant, tenant.login(Role.OWNER))
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["items"] == [] and answer["silent_terminals"] == []
    assert answer["store_ids"] == [tenant.store_id]
    assert answer["silent_after_s"] == 3600
    assert answer["quarantined"]["open"] == 0


def test_silent_till_broken_journal_quarantine_and_webhooks_are_listed(
        tenant: Tenant, db_url: str) -> None:
    ctx = tenant.server.ctx
    back = tenant.enroll(name="Back till")
    _silence(tenant, back.device_id, 3)
    _sales(tenant, 4)
    # a cashier may not delete: refused at the server and held in quarantine
    cashier = tenant.staff[Role.CASHIER]
    order = tenant.term.order_create(cashier)
    results = tenant.term.push([order, tenant.term.op(
        OpType.ORDER_DELETE.value, order["entity_id"], cashier, {"reason": "not allowed"})]
    )["results"]
    assert [r["status"] for r in results] == ["applied", "rejected"], results
    with ctx.writer.begin() as s:  # a delivery the worker gave up on
        event = Event(id=new_id(), org_id=tenant.org_id, type="test.failing", payload={})
        s.add(event)
        s.flush()
        s.add(WebhookDelivery(id=new_id(), event_id=event.id, url="http://127.0.0.1:9/",
                              status="failed", attempts=12, last_error="HTTP 500"))

    # another organization's silent till is never shown
    with make_tenant(tenant.server) as other:
        _silence(other, other.term.device_id, 5)
        other_store = other.store_id

        # the journal edited in the database file itself, then the scheduled check's run
        third = _links(tenant)[2]
        with _attacker(db_url) as conn:
            conn.execute(text(f"UPDATE audit_entries SET reason = 'x' WHERE id = {third.audit_id}")
                         .text)
        status.check_all(ctx.engine, ctx.writer, tenant.org_id)

        owner = tenant.login(Role.OWNER)
        r = _get(tenant, owner)
        assert r.status_code == 200, r.text
        answer = r.json()
        assert _keys(answer) == {"silent_terminals": 1, "journal": 1, "quarantined": 1,
                                 "webhooks_failing": 1}, answer["items"]
        [silent] = answer["silent_terminals"]
        assert (silent["terminal_id"], silent["name"]) == (back.device_id, "Back till")
        assert silent["silent_for_s"] >= 3 * 3600 - 60
        assert other.term.device_id not in str(answer)
        journal = answer["journal"]
        assert journal["state"] == "failing" and journal["position"] == third.seq
        assert f"entry {third.seq}: edited" in journal["problem"]
        texts = {i["key"]: i["text"] for i in answer["items"]}
        assert f"entry {third.seq}: edited" in texts["journal"]
        assert texts["silent_terminals"] == "1 till not heard from for over 1 h"
        assert answer["quarantined"]["by_type"] == {OpType.ORDER_DELETE.value: 1}
        assert answer["webhooks"]["failed"] == 1
        assert answer["webhooks"]["last_error"] == "HTTP 500"

        # a longer silence asked for: the back till is not silent by that measure
        longer = _get(tenant, owner, silent_after_s=5 * 3600).json()
        assert "silent_terminals" not in _keys(longer)
        # another organization's store is not found, not shown
        assert _get(tenant, owner, store_id=other_store).status_code == 404
        # and the other organization's owner sees their own silent till only
        theirs = _get(other, other.login(Role.OWNER)).json()
        assert [t["terminal_id"] for t in theirs["silent_terminals"]] == [other.term.device_id]
        assert theirs["journal"]["state"] != "failing"
        assert "quarantined" not in _keys(theirs)


def test_a_till_reads_its_store_and_is_heard_from(tenant: Tenant) -> None:
    ctx = tenant.server.ctx
    back = tenant.enroll(name="Back till")
    _silence(tenant, back.device_id, 2)
    _silence(tenant, tenant.term.device_id, 2)
    r = _get(tenant, tenant.term.headers, "/attention/terminal")
    assert r.status_code == 200, r.text
    answer = r.json()
    # the asking till has just been heard from; the back till is still silent
    assert [t["terminal_id"] for t in answer["silent_terminals"]] == [back.device_id]
    assert answer["store_ids"] == [tenant.store_id]
    with ctx.reader() as s:
        seen = s.scalar(select(Terminal.last_seen_at).where(Terminal.id == tenant.term.device_id))
    assert seen is not None and utcnow() - seen.replace(tzinfo=utcnow().tzinfo) < timedelta(
        minutes=5)
    # a staff token is not a terminal token
    assert _get(tenant, tenant.login(Role.OWNER), "/attention/terminal").status_code == 401


def test_a_cashier_and_a_cashier_till_are_refused(tenant: Tenant) -> None:
    r = _get(tenant, tenant.login(Role.CASHIER))
    assert r.status_code == 403, r.text
    assert r.json()["error"]["details"] == {"role": "cashier", "action": "report.view"}
    assert _get(tenant, tenant.login(Role.STOCK)).status_code == 403
    till = tenant.enroll(name="Cashier till", max_role=Role.CASHIER)
    r = _get(tenant, till.headers, "/attention/terminal")
    assert r.status_code == 403, r.text
    assert r.json()["error"]["code"] == "permission_denied"
    assert _get(tenant, tenant.term.headers, "/attention").status_code == 401
