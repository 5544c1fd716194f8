"""A data-key rotation made while the server runs (issue 16, item 6): the running server
follows it. With the SQLite default (the key in the key file) it finds the new key and
seals every row it writes from the announcement on with it, through the bulk writer of
a push too (server/db/bulk_insert.py once kept the first engine's sealing for the whole
process); with a key given in TILLSYNC_SERVER_DATA_KEY it cannot learn the new key, so
it seals nothing until restarted with it: no row is ever written under the old key after
the rotation. Every row is then read with the new key alone (the audit trail, append-
only, keeps its earlier seals for the retired key)."""

from __future__ import annotations

import argparse
import base64
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from app.domain.ids import new_id
from app.domain.permissions import Role
from server import crypto
from server.config import Settings
from server.db.base import SEALED_PREFIX
from server.ops import data_key
from server.ops.cli import cmd_rotate_data_key
from tests.server.conftest import TEST_DATA_KEY
from tests.server.support import Tenant, make_tenant, running_server

NEW = base64.b64encode(b"rotated-while-the-server-runs!!!").decode()
SEALED_TABLES = ("customers", "orders", "feed_entries", "events")


JWT = "f" + uuid.uuid4().hex  # one for the restarted server too: the till's token holds


def _settings(url: str, key: str | None, retired: list[str] | None = None) -> Settings:
    return Settings(database_url=url, server_data_key=key, jwt_secret=JWT,
                    server_retired_data_keys=retired or [],
                    argon2_time_cost=1, argon2_memory_kib=8192, webhook_urls=[],
                    rate_limit_per_second=10_000, rate_limit_burst=100_000)


def _sale_ops(tenant: Tenant, phone: str) -> list[dict[str, Any]]:
    cashier = tenant.staff[Role.CASHIER]
    person = {"name": f"Person {phone[-4:]}", "phone": phone, "email": f"{phone[-4:]}@x.ie"}
    cid = new_id()
    op = tenant.term.order_create(cashier)
    op["payload"]["customer"] = {"id": cid, **person}
    return [tenant.term.op("customer.upsert", cid, cashier, person), op]


def _push(tenant: Tenant, ops: list[dict[str, Any]]) -> Any:
    term = tenant.term
    with term.server.client() as c:
        return c.post("/sync/push", json={"operations": [term.prove(op) for op in ops]},
                      headers=term.headers)


def _tokens(value: Any) -> list[tuple[str, str]]:
    """Every sealed (field, token) inside a JSON value."""
    found: list[tuple[str, str]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str) and item.startswith(SEALED_PREFIX):
                found.append((key, item))
            else:
                found += _tokens(item)
    elif isinstance(value, list):
        for item in value:
            found += _tokens(item)
    return found


def _sealed_rows(url: str) -> dict[str, list[tuple[str, str]]]:
    """The sealed tokens of each table, read as stored (no key)."""
    engine = create_engine(url)
    out: dict[str, list[tuple[str, str]]] = {}
    try:
        with engine.connect() as conn:
            for table, cols in (("customers", ("data",)), ("orders", ("customer",)),
                                ("feed_entries", ("data",)), ("events", ("payload",))):
                for row in conn.execute(text(f"SELECT {', '.join(cols)} FROM {table}")):
                    for value in row:
                        doc = json.loads(value) if isinstance(value, str) else value
                        out.setdefault(table, []).extend(_tokens(doc))
    finally:
        engine.dispose()
    return out


def _phone_indexes(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {r[0] for r in conn.execute(text(
                "SELECT phone_index FROM customers UNION SELECT customer_phone_index "
                "FROM orders")) if r[0] is not None}
    finally:
        engine.dispose()


def _all_open_with_the_new_key_alone(url: str, phones: list[str]) -> None:
    new = crypto.DataCipher(base64.b64decode(NEW))  # no retired key: the new one alone
    sealed = _sealed_rows(url)
    assert {t for t in SEALED_TABLES if sealed.get(t)} >= {"customers", "orders",
                                                           "feed_entries"}, sealed.keys()
    for tokens in sealed.values():
        for field, token in tokens:
            new.open(field, token)  # InvalidTag: sealed with another key
    assert _phone_indexes(url) == {new.phone_index(p) for p in phones}


def test_a_rotation_by_the_cli_is_followed_by_the_running_server(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The SQLite default: key file; the CLI rotates with the server up, a push in the
    middle of the rotation and one after it are sealed with the new key."""
    url = f"sqlite:///{tmp_path / 'server.db'}"
    monkeypatch.delenv("TILLSYNC_SERVER_DATA_KEY", raising=False)
    monkeypatch.delenv("TILLSYNC_SERVER_RETIRED_DATA_KEYS", raising=False)
    phones = [f"+353 87 100 {i:04d}" for i in range(6)]
    with running_server(_settings(url, None)) as srv, make_tenant(srv) as tenant:
        body = tenant.term.push(_sale_ops(tenant, phones[0]) + _sale_ops(tenant, phones[1]))
        assert {r["status"] for r in body["results"]} == {"applied"}, body
        new_file = tmp_path / "new.key"
        new_file.write_text(NEW + "\n")
        rotate = data_key.rotate_data_key
        pushed: list[Any] = []

        def rotate_pushing_in_the_middle(engine: Any, old: bytes, new: bytes,
                                         **kw: Any) -> data_key.Rotated:
            def after_batch(table: str, n: int) -> None:
                if table == "customers" and not pushed:  # orders not re-sealed yet
                    pushed.append(_push(tenant, _sale_ops(tenant, phones[2])))
            return rotate(engine, old, new, batch=1, after_batch=after_batch, **kw)

        monkeypatch.setattr(data_key, "rotate_data_key", rotate_pushing_in_the_middle)
        assert cmd_rotate_data_key(argparse.Namespace(db=url, new_key_file=new_file)) == 0
        assert pushed and pushed[0].status_code == 200, pushed[0].text
        assert {r["status"] for r in pushed[0].json()["results"]} == {"applied"}
        assert not (tmp_path / (crypto.KEY_FILE_NAME + crypto.NEXT_SUFFIX)).exists()
        body = tenant.term.push(_sale_ops(tenant, phones[3]) + _sale_ops(tenant, phones[4]))
        assert {r["status"] for r in body["results"]} == {"applied"}, body
        with srv.client() as c:  # and read back through the server
            r = c.get("/sync/position", headers=tenant.term.headers)
            assert r.status_code == 200, r.text
    _all_open_with_the_new_key_alone(url, phones[:5])


def test_a_server_given_its_key_seals_nothing_with_the_old_key_after_a_rotation(
        own_db_url: str) -> None:
    """TILLSYNC_SERVER_DATA_KEY: the running server cannot learn the new key; customer
    data pushed after the rotation is refused, not sealed with the old key, and is
    applied once the server is restarted with the new key. SQLite and PostgreSQL."""
    phones = [f"+353 85 200 {i:04d}" for i in range(3)]
    with running_server(_settings(own_db_url, TEST_DATA_KEY)) as srv, \
            make_tenant(srv) as tenant:
        body = tenant.term.push(_sale_ops(tenant, phones[0]))
        assert {r["status"] for r in body["results"]} == {"applied"}, body
        engine = create_engine(own_db_url)
        try:
            data_key.rotate_data_key(engine, base64.b64decode(TEST_DATA_KEY),
                                     base64.b64decode(NEW))
        finally:
            engine.dispose()
        waiting = _sale_ops(tenant, phones[1])
        r = _push(tenant, waiting)
        assert r.status_code == 503, r.text  # refused as a whole: the till sends it again
        assert "data key was rotated" in r.json()["error"]["message"]
        term = tenant.term
    with running_server(_settings(own_db_url, NEW, [TEST_DATA_KEY])) as srv:
        term.server = srv
        body = term.push(waiting)
        assert {r["status"] for r in body["results"]} == {"applied"}, body
    _all_open_with_the_new_key_alone(own_db_url, phones[:2])
