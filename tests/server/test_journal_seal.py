"""The seal's PostgreSQL statements (server/journal/chain.py): the organizations found
and the first head locked by one statement, the pending entries read through the
driver's cursor, a few links written and the head moved by one statement, more by COPY.
Every pending entry of every organization is still chained, organizations in id order,
and the chain checks out (SQLite: the same behaviour through its own statements)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from app.domain.ids import new_id
from server.db.models import AuditEntry
from server.journal import chain, status
from server.journal.chain import LINKS, PENDING
from tests.server.support import Tenant, make_tenant


def _entry(org_id: str, n: int) -> AuditEntry:
    return AuditEntry(org_id=org_id, store_id=None, entity_type="order", entity_id=new_id(),
                      action="order.update", actor_id=None, device_id=None, op_id=new_id(),
                      changes={"n": n, "note": "ünïcode"}, reason=None)


def _pending(tenant: Tenant) -> int:
    with tenant.server.ctx.reader() as s:
        return int(s.scalar(select(func.count()).select_from(PENDING)) or 0)


def _links_of(tenant: Tenant, org_id: str) -> list[Any]:
    with tenant.server.ctx.reader() as s:
        return list(s.execute(select(LINKS.c.seq, LINKS.c.audit_id).where(
            LINKS.c.org_id == org_id).order_by(LINKS.c.seq)))


def test_the_driver_read_of_pending_entries_hashes_as_sqlalchemys(tenant: Tenant) -> None:
    ctx = tenant.server.ctx
    with ctx.writer.begin() as s:
        s.add_all([_entry(tenant.org_id, n) for n in range(3)])
        s.flush()
        conn = s.connection()
        if conn.dialect.name == "postgresql":
            via_sqlalchemy = conn.execute(chain._PENDING_CONTENTS, {"org": tenant.org_id}).all()
            with conn.begin_nested() as savepoint:
                via_driver = chain._take_pending_pg(conn, tenant.org_id)
                savepoint.rollback()  # (the read took them out of journal_pending)
            assert len(via_driver) == len(via_sqlalchemy) == 3
            for raw, orm in zip(via_driver, via_sqlalchemy, strict=True):
                assert raw._fields == tuple(orm._fields)
                assert tuple(raw)[:-1] == tuple(orm)[:-1]
                assert raw.created_at == orm.created_at  # the same instant
                assert chain.link_hash("x", 7, raw) == chain.link_hash("x", 7, orm)
    assert _pending(tenant) == 0
    [verdict] = status.verify_all(ctx.engine, ctx.writer, tenant.org_id)
    assert verdict.ok, verdict


def test_a_seal_chains_every_organizations_pending_entries(tenant: Tenant) -> None:
    """Entries committed without a seal (a plain connection: no writer session) for two
    organizations are chained by the next writer's commit, with its own, each org's
    after its head; few entries (one statement) and many (COPY) alike."""
    ctx = tenant.server.ctx
    with make_tenant(tenant.server) as other:
        orgs = sorted([tenant.org_id, other.org_id])
        before = {org: len(_links_of(tenant, org)) for org in orgs}
        with ctx.engine.begin() as conn:  # committed, left pending
            for org in orgs:
                conn.execute(AuditEntry.__table__.insert(), [
                    {"org_id": org, "entity_type": "order", "entity_id": new_id(),
                     "action": "order.update", "changes": {"n": n}}
                    for n in range(2)])
        assert _pending(tenant) == 4
        with ctx.writer.begin() as s:  # the last org's own entries: more than a few
            s.add_all([_entry(orgs[-1], n) for n in range(chain.FEW_LINKS + 5)])
            s.flush()  # (the seal runs before the commit's own flush)
        assert _pending(tenant) == 0
        grown = {org: len(_links_of(tenant, org)) - before[org] for org in orgs}
        assert grown == {orgs[0]: 2, orgs[-1]: 2 + chain.FEW_LINKS + 5}
        for org in orgs:
            links = _links_of(tenant, org)
            assert [link.seq for link in links] == list(range(1, len(links) + 1))
            [verdict] = status.verify_all(ctx.engine, ctx.writer, org)
            assert verdict.ok, verdict
            assert verdict.head_seq == len(links)


def test_a_commit_with_nothing_pending_chains_nothing(tenant: Tenant) -> None:
    ctx = tenant.server.ctx
    before = len(_links_of(tenant, tenant.org_id))
    with ctx.writer.begin() as s:
        assert chain.seal_connection(s.connection()) == 0
    assert len(_links_of(tenant, tenant.org_id)) == before


def test_entries_only_added_are_chained_by_the_commit_itself(tenant: Tenant) -> None:
    """A writer session that only ``add``s and commits (no flush, no statement before):
    its entries are chained by that commit, not left pending for somebody else's
    (SQLAlchemy's before_commit runs before the commit's own flush)."""
    ctx = tenant.server.ctx
    before = len(_links_of(tenant, tenant.org_id))
    with ctx.writer.begin() as s:
        s.add_all([_entry(tenant.org_id, n) for n in range(2)])
    assert _pending(tenant) == 0
    assert len(_links_of(tenant, tenant.org_id)) == before + 2
    [verdict] = status.verify_all(ctx.engine, ctx.writer, tenant.org_id)
    assert verdict.ok, verdict
