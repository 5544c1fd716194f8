"""server/db/bulk_insert.py ``insert_together``: several tables' rows in one statement on
PostgreSQL (written once per shape, ``$n`` placeholders, the driver's cursor), stored as
a Core insert of the same rows stores them; a database error raised as SQLAlchemy raises
it; SQLite: nothing done (None), the caller inserts its own way."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.domain.ids import new_id
from server.db import bulk_insert
from server.db.base import cast_table
from server.db.models import AuditEntry, ServerMeta
from tests.server.support import Tenant

AUDIT = cast_table(AuditEntry)
META = cast_table(ServerMeta)


def _audit(tenant: Tenant, n: int) -> dict[str, Any]:
    return {"org_id": tenant.org_id, "store_id": tenant.store_id, "entity_type": "order",
            "entity_id": new_id(), "action": "order.update", "actor_id": None,
            "device_id": None, "op_id": f"op-{n}", "changes": {"n": n, "note": "ünï"},
            "reason": "why" if n else None,
            "created_at": datetime(2026, 12, 4, 19, 0, n, 1234, tzinfo=UTC)}


def test_rows_of_several_tables_in_one_statement(tenant: Tenant) -> None:
    ctx = tenant.server.ctx
    metas = [{"key": f"r3-test-{new_id()}", "value": str(i)} for i in range(2)]
    audits = [_audit(tenant, n) for n in range(3)]
    with ctx.writer.begin() as s:
        conn = s.connection()
        ids = bulk_insert.insert_together(conn, [(META, metas), (AUDIT, audits)],
                                          returning="id")
        if conn.dialect.name != "postgresql":
            assert ids is None  # nothing done: the caller's own way
            return
        assert ids is not None and len(ids) == 3
        again = bulk_insert.insert_together(conn, [(AUDIT, [_audit(tenant, 9)])])
        assert again == []  # (no RETURNING: nothing back)
    with ctx.reader() as s:
        stored = {r.key: r.value for r in s.execute(select(META).where(
            META.c.key.in_([m["key"] for m in metas])))}
        rows = s.execute(select(AUDIT).where(AUDIT.c.id.in_(ids)).order_by(AUDIT.c.id)).all()
    assert stored == {m["key"]: m["value"] for m in metas}
    assert sorted(ids) == [r.id for r in rows]
    for row, sent in zip(rows, sorted(audits, key=lambda a: a["op_id"]), strict=True):
        assert {k: getattr(row, k) for k in sent} == sent


def test_a_database_error_is_raised_as_sqlalchemy_raises_it(tenant: Tenant) -> None:
    ctx = tenant.server.ctx
    if ctx.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    meta = {"key": f"r3-test-{new_id()}", "value": "1"}
    with pytest.raises(IntegrityError), ctx.writer.begin() as s:
        bulk_insert.insert_together(s.connection(), [(META, [meta]), (META, [dict(meta)])])
