"""Rotating the server's customer-data key (issue 16, item 6, the server's side): every
sealed row, approval key and phone index re-sealed with the new key in batches; killed
with SIGKILL again and again in the middle, the rotation carries on and loses nothing,
and the server refuses to start with either key alone until it is finished. SQLite and
PostgreSQL. The audit trail is append-only: its entries keep their seal and the old key
stays as a retired key that only opens."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.domain.ids import new_id
from app.domain.permissions import Role
from server import crypto
from server.config import Settings
from server.db.models import AuditEntry, Customer, FeedEntry, Order
from server.main import create_app
from server.ops.data_key import personal_tables
from tests.server.conftest import TEST_DATA_KEY
from tests.server.support import PINS, make_tenant, running_server

ROOT = Path(__file__).resolve().parents[2]
OLD = TEST_DATA_KEY
NEW = base64.b64encode(b"new-data-key-for-rotation-test!!").decode()


def _settings(url: str, key: str, retired: list[str] | None = None) -> Settings:
    return Settings(database_url=url, server_data_key=key, jwt_secret="r" + uuid.uuid4().hex,
                    server_retired_data_keys=retired or [],
                    argon2_time_cost=1, argon2_memory_kib=8192, webhook_urls=[],
                    rate_limit_per_second=10_000, rate_limit_burst=100_000)


def _child(url: str, kill_after: int) -> int:
    done = subprocess.run([sys.executable, "-m", "tests.server.rotate_child", url, OLD, NEW,
                           str(kill_after), "4"], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode in (0, -9), done.stderr[-2000:]
    return done.returncode


def _counts(ctx) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with ctx.reader() as s:
        return {m.__tablename__: int(s.scalar(select(func.count()).select_from(m)) or 0)
                for m in (Customer, Order, FeedEntry, AuditEntry)}


def test_a_rotation_killed_again_and_again_loses_nothing(own_db_url: str) -> None:
    phones = [f"+353 86 000 {i:04d}" for i in range(9)]
    with running_server(_settings(own_db_url, OLD)) as srv, make_tenant(srv) as tenant:
        term, cashier = tenant.term, tenant.staff[Role.CASHIER]
        ops = []
        for i, phone in enumerate(phones):
            person = {"name": f"Customer {i}", "phone": phone, "email": f"c{i}@example.com"}
            cid = new_id()
            ops.append(term.op("customer.upsert", cid, cashier, person))
            op = term.order_create(cashier)
            op["payload"]["customer"] = {"id": cid, **person}
            ops.append(op)
        body = term.push(ops)
        assert [r["status"] for r in body["results"]] == ["applied"] * len(ops), body
        before = _counts(srv.ctx)
        org_id = tenant.org_id

    kills = 0
    for kill_after in (1, 2, 3, 5, 8):  # SIGKILL after that many batches, then again
        code = _child(own_db_url, kill_after)
        if code == 0:
            break
        assert code == -9
        kills += 1
        for key in (OLD, NEW):  # half re-sealed: neither key alone may start the server
            with pytest.raises(crypto.DataKeyError, match="unfinished"):
                create_app(_settings(own_db_url, key))
    assert kills >= 3
    assert _child(own_db_url, 10_000) == 0  # carries on to the end

    with pytest.raises(crypto.DataKeyError, match="another data key"):
        create_app(_settings(own_db_url, OLD))
    new = crypto.DataCipher(base64.b64decode(NEW))
    with running_server(_settings(own_db_url, NEW, [OLD])) as srv:
        assert _counts(srv.ctx) == before
        with srv.ctx.reader() as s:
            customers = s.scalars(select(Customer).where(Customer.org_id == org_id)).all()
            assert sorted(c.data["phone"] for c in customers) == sorted(phones)
            assert {c.phone_index for c in customers} == {new.phone_index(p) for p in phones}
            orders = s.scalars(select(Order).where(Order.org_id == org_id)).all()
            assert sorted(o.customer["name"] for o in orders) == sorted(
                f"Customer {i}" for i in range(len(phones)))
            assert {o.customer_phone_index for o in orders} == {new.phone_index(p)
                                                                for p in phones}
            feed = s.scalars(select(FeedEntry).where(FeedEntry.entity_type == "order")).all()
            assert all(not str(f.data).count("enc1:") for f in feed)  # all opened
            audit = s.scalars(select(AuditEntry).where(AuditEntry.org_id == org_id)).all()
            assert audit and all("enc1:" not in str(a.changes) for a in audit)  # retired key
        with srv.client() as c:  # the staff's approval keys open too: a manager signs in
            r = c.post("/auth/login", json={"staff_id": tenant.staff[Role.MANAGER],
                                            "pin": PINS[Role.MANAGER]})
            assert r.status_code == 200, r.text
    assert {t.name for t, _ in personal_tables()} >= {"customers", "orders", "feed_entries"}
