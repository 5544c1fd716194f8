"""The answer of a back-office order write is built from what the write stored, not read
again after the commit (issue 17): it must be the very order a read gives afterwards,
whatever time zone the caller wrote its times in, on SQLite and PostgreSQL. And the
create's checks and reference come in one short transaction before the order's: a
refused create takes no number, and a refusal inside the order's transaction leaves
nothing behind."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import httpx
from sqlalchemy import func, select

from app.domain.ids import new_id, parse_reference
from app.domain.permissions import Role
from server.db.models import AuditEntry, Event, FeedEntry, Order
from tests.server.support import Tenant, line

IST = timezone(timedelta(hours=5, minutes=30))
NEW_YORK = timezone(timedelta(hours=-5))


def _body(tenant: Tenant, *, created_at: str, payments: list[tuple[str, int]] = (),  # type: ignore[assignment]
          customer: bool = False, installments: bool = False, note: str | None = None,
          lines: int = 2) -> dict[str, Any]:
    items = [line(None, 250 + 70 * i, 1000 * (i + 1)) for i in range(lines)]
    total = sum(li["total"] for li in items)
    oid = new_id()
    body: dict[str, Any] = {
        "id": oid, "store_id": tenant.store_id, "currency": "EUR", "tax_inclusive": True,
        "lines": items, "subtotal": total, "discount": 0, "tax": sum(li["tax"] for li in items),
        "total": total, "created_at": created_at, "note": note,
        "payments": [{"id": new_id(), "order_id": oid, "method": "cash", "amount": amount,
                      "tendered": amount, "change": 0, "created_at": at}
                     for at, amount in payments],
    }
    if customer:
        body["customer"] = {"id": new_id(), "name": "Ana Kowalska", "phone": "+48 600 100 200",
                            "email": "ana@example.com"}
    if installments:
        iid = new_id()
        body["installments"] = [
            {"id": iid, "number": 1, "due_date": str(date.today() + timedelta(days=7)),
             "amount": total - sum(amount for _, amount in payments)},
        ]
    return body


def _bodies(tenant: Tenant) -> list[dict[str, Any]]:
    now = datetime.now(UTC).replace(microsecond=123456)
    same = now.astimezone(IST).isoformat()
    return [
        _body(tenant, created_at=now.isoformat()),
        # another zone, whole seconds, and a naive time (read as UTC)
        _body(tenant, created_at=now.astimezone(IST).replace(microsecond=0).isoformat(),
              payments=[(now.astimezone(NEW_YORK).isoformat(), 100)]),
        _body(tenant, created_at=now.replace(tzinfo=None).isoformat(),
              payments=[(now.replace(tzinfo=None).isoformat(), 50)]),
        # two payments at the same moment in two zones (ordered by id), paid in full
        _body(tenant, created_at=same, customer=True, note="gift wrap",
              payments=[(same, 200), (now.astimezone(NEW_YORK).isoformat(), 10_000)]),
        # payments in reverse time order, a schedule, one line
        _body(tenant, created_at=same, installments=True, customer=True, lines=1,
              payments=[((now + timedelta(minutes=5)).isoformat(), 30),
                        ((now - timedelta(minutes=5)).astimezone(IST).isoformat(), 20)]),
    ]


def test_the_create_answer_is_the_order_as_read_afterwards(tenant: Tenant) -> None:
    tenant.seen_at(Role.MANAGER)  # works at the store's till
    h = tenant.login(Role.MANAGER)
    with tenant.server.client() as c:
        for body in _bodies(tenant):
            r = c.post("/offline-orders", json=body, headers=h)
            assert r.status_code == 201, r.text
            answer = r.json()
            read = c.get(f"/offline-orders/{body['id']}", headers=h)
            assert read.status_code == 200, read.text
            assert answer == read.json()
            order = answer["order"]
            assert order["created_at"].endswith("+00:00")
            assert len(answer["audit"]) == 1 and answer["audit"][0]["action"] == "order.create"


def test_the_other_order_writes_answer_the_order_as_read(tenant: Tenant) -> None:
    """Edit, payment, refund and delete answer the order as a read after them gives it."""
    h = tenant.login(Role.OWNER)
    now = datetime.now(UTC).astimezone(IST).isoformat()
    with tenant.server.client() as c:
        paid = _body(tenant, created_at=now, payments=[(now, 10_000_000)], lines=1)
        paid["payments"][0]["amount"] = paid["payments"][0]["tendered"] = paid["total"]
        pending = _body(tenant, created_at=now)
        for body in (paid, pending):
            assert c.post("/offline-orders", json=body, headers=h).status_code == 201

        def same_as_read(r: httpx.Response, order_id: str, key: str | None = None) -> None:
            assert r.status_code in (200, 201), r.text
            read = c.get(f"/offline-orders/{order_id}", headers=h).json()
            assert (r.json()[key] if key else r.json()) == (read[key] if key else read)

        same_as_read(c.patch(f"/offline-orders/{pending['id']}", headers=h, json={
            "fields": {"note": {"base": None, "value": "call first"}}}), pending["id"])
        li = paid["lines"][0]
        same_as_read(c.post(f"/offline-orders/{paid['id']}/refunds", headers=h, json={
            "refund_id": new_id(), "amount": li["total"], "reason": "faulty item",
            "lines": [{"line_id": li["id"], "qty_milli": 1000, "amount": li["total"]}]}),
            paid["id"], "order")
        same_as_read(c.request("DELETE", f"/offline-orders/{pending['id']}", headers=h,
                               json={"reason": "entered twice"}), pending["id"])
        payment = c.post(f"/offline-orders/{paid['id']}/payments", headers=h, json={
            "id": new_id(), "method": "cash", "amount": 100, "created_at": now})
        assert payment.status_code == 201, payment.text
        listed = c.get(f"/offline-orders/{paid['id']}/payments", headers=h).json()
        assert payment.json() in listed


def _number(reference: str) -> int:
    parsed = parse_reference(reference)
    assert parsed is not None
    return parsed[1]


def test_a_refused_create_takes_no_number_and_leaves_nothing(tenant: Tenant) -> None:
    tenant.seen_at(Role.MANAGER)  # works at the store's till
    h = tenant.login(Role.MANAGER)
    now = datetime.now(UTC).isoformat()
    ctx = tenant.server.ctx
    with tenant.server.client() as c:
        first = _body(tenant, created_at=now)
        r = c.post("/offline-orders", json=first, headers=h)
        assert r.status_code == 201, r.text
        n = _number(r.json()["order"]["reference"])
        # the same order again: 409 exists, before any number is taken
        again = c.post("/offline-orders", json=first, headers=h)
        assert again.status_code == 409 and again.json()["error"]["code"] == "exists", again.text
        second = c.post("/offline-orders", json=_body(tenant, created_at=now), headers=h)
        assert _number(second.json()["order"]["reference"]) == n + 1

        # refused inside the order's transaction (a payment of nothing): nothing stays
        with ctx.reader() as s:
            before = (s.scalar(select(func.count()).select_from(Event)),
                      s.scalar(select(func.count()).select_from(FeedEntry)),
                      s.scalar(select(func.count()).select_from(AuditEntry)))
        bad = _body(tenant, created_at=now, payments=[(now, 0)])
        refused = c.post("/offline-orders", json=bad, headers=h)
        assert refused.status_code == 422, refused.text
        assert c.get(f"/offline-orders/{bad['id']}", headers=h).status_code == 404
        with ctx.reader() as s:
            assert s.get(Order, bad["id"]) is None
            after = (s.scalar(select(func.count()).select_from(Event)),
                     s.scalar(select(func.count()).select_from(FeedEntry)),
                     s.scalar(select(func.count()).select_from(AuditEntry)))
        assert after == before
        # that refusal took a number (refused after the reference): references stay
        # unique, not gap-free
        third = c.post("/offline-orders", json=_body(tenant, created_at=now), headers=h)
        assert _number(third.json()["order"]["reference"]) == n + 3
