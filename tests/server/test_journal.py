"""The server's journal: append-only, chained per organization in commit order, and
every kind of tampering found and named (on SQLite and PostgreSQL)."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from app.domain.permissions import Role
from server.context import TerminalPrincipal
from server.db.models import AuditEntry
from server.journal import heads, status
from server.journal.chain import LINKS
from server.journal.cli import main as server_cli
from sync.protocol import JournalHead
from tests.server.conftest import TEST_DATA_KEY
from tests.server.support import Tenant


def _sales(tenant: Tenant, n: int) -> None:
    term = tenant.term
    ops = [term.order_create(tenant.staff[Role.CASHIER], pay=True) for _ in range(n)]
    results = term.push(ops)["results"]
    assert {r["status"] for r in results} == {"applied"}


def _verdict(tenant: Tenant) -> Any:
    ctx = tenant.server.ctx
    [verdict] = status.verify_all(ctx.engine, ctx.writer, tenant.org_id)
    return verdict


def _links(tenant: Tenant) -> list[Any]:
    with tenant.server.ctx.reader() as s:
        return list(s.execute(select(LINKS).where(LINKS.c.org_id == tenant.org_id)
                              .order_by(LINKS.c.seq)))


GUARDS = {"audit_entries": ("audit_entries_no_update", "audit_entries_no_delete",
                            "audit_entries_pend"),
          "journal_links": ("journal_links_no_update", "journal_links_no_delete")}


@contextlib.contextmanager
def _attacker(url: str) -> Iterator[Any]:
    """A raw connection to the database file or server, the guard triggers out of the
    way (put back afterwards: the test server is shared)."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        saved = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name "
                             "IN ('audit_entries', 'journal_links')").fetchall()
        conn.execute("BEGIN IMMEDIATE")
        for names in GUARDS.values():
            for name in names:
                conn.execute(f"DROP TRIGGER {name}")
        try:
            yield conn
        finally:
            for (sql,) in saved:
                conn.execute(sql)
            conn.execute("COMMIT")
            conn.close()
        return
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as pg:
        for table in GUARDS:
            pg.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        yield pg
        for table in GUARDS:
            pg.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")


def test_audit_entries_refuse_update_and_delete(tenant: Tenant) -> None:
    _sales(tenant, 1)
    for sql in ("UPDATE audit_entries SET reason = 'x'", "DELETE FROM audit_entries",
                "UPDATE journal_links SET hash = 'x'", "DELETE FROM journal_links"):
        with pytest.raises(DBAPIError, match="append-only"), \
                tenant.server.ctx.writer.begin() as s:
            s.execute(text(sql))


def test_entries_are_chained_as_they_commit(tenant: Tenant) -> None:
    _sales(tenant, 3)
    verdict = _verdict(tenant)
    assert verdict.ok, verdict.problem
    with tenant.server.ctx.reader() as s:
        audit_ids = set(s.scalars(select(AuditEntry.id).where(AuditEntry.org_id == tenant.org_id)))
    links = _links(tenant)
    assert {link.audit_id for link in links} == audit_ids
    assert [link.seq for link in links] == list(range(1, len(links) + 1))
    assert verdict.head_seq == len(links) and verdict.waiting == 0


def _tampering(links: list[Any]) -> dict[str, tuple[list[str], str]]:
    third, fourth = links[2], links[3]
    fields = ("org_id, store_id, entity_type, entity_id, action, actor_id, device_id, op_id, "
              "changes, reason, created_at")
    return {
        "edit": ([f"UPDATE audit_entries SET reason = 'nothing to see' WHERE id = {third.audit_id}"],
                 f"entry {third.seq}: edited"),
        "delete entry": ([f"DELETE FROM audit_entries WHERE id = {third.audit_id}"],
                         f"entry {third.seq}: removed"),
        "delete link": ([f"DELETE FROM journal_links WHERE audit_id = {third.audit_id}"],
                        f"entry {third.seq}: removed"),
        "insert": ([f"INSERT INTO audit_entries ({fields}) SELECT {fields} FROM audit_entries "
                    f"WHERE id = {third.audit_id}"], "inserted"),
        "reorder": ([f"UPDATE journal_links SET audit_id = -1 WHERE audit_id = {third.audit_id}",
                     f"UPDATE journal_links SET audit_id = {third.audit_id} "
                     f"WHERE audit_id = {fourth.audit_id}",
                     f"UPDATE journal_links SET audit_id = {fourth.audit_id} WHERE audit_id = -1"],
                    f"entry {third.seq}: reordered"),
    }


@pytest.mark.parametrize("kind", ["edit", "delete entry", "delete link", "insert", "reorder"])
def test_tampering_is_found_and_named(tenant: Tenant, db_url: str, kind: str,
                                      capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TILLSYNC_SERVER_DATA_KEY", TEST_DATA_KEY)
    _sales(tenant, 4)
    assert _verdict(tenant).ok
    sql, words = _tampering(_links(tenant))[kind]
    with _attacker(db_url) as conn:
        for statement in sql:
            conn.execute(statement)
    verdict = _verdict(tenant)
    assert not verdict.ok
    assert verdict.problem is not None and words in verdict.problem, verdict.problem
    exit_code = server_cli(["audit", "--db", db_url, "verify", "--org", tenant.org_id])
    assert exit_code == 1
    assert words in capsys.readouterr().out
    with tenant.server.ctx.reader() as s:
        latest = status.latest_result(s, tenant.org_id)
    assert latest is not None and not latest.ok and words in (latest.problem or "")


def test_concurrent_writers_chain_in_commit_order(tenant: Tenant) -> None:
    """Writers in threads, each its own transaction (as server processes are on
    PostgreSQL): no place given twice, none skipped, every entry chained once."""
    ctx = tenant.server.ctx
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            for i in range(15):
                with ctx.writer.begin() as s:
                    for j in range(3):
                        s.add(AuditEntry(org_id=tenant.org_id, entity_type="test",
                                         entity_id=f"{worker}-{i}-{j}", action="test.write"))
                    s.flush()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    verdict = _verdict(tenant)
    assert verdict.ok, verdict.problem
    assert verdict.entries >= 6 * 15 * 3


def test_a_till_head_that_goes_back_is_journaled_as_such(tenant: Tenant) -> None:
    """A till restored from an older backup sends a lower head: recorded, marked."""
    ctx = tenant.server.ctx
    term = tenant.term
    principal = TerminalPrincipal(term.device_id, tenant.org_id, term.store_id, term.device_code)
    assert heads.record_head(ctx, principal, JournalHead(seq=7, hash="a" * 64))
    assert not heads.record_head(ctx, principal, JournalHead(seq=7, hash="a" * 64))  # unmoved
    assert heads.record_head(ctx, principal, JournalHead(seq=5, hash="b" * 64))
    assert heads.latest_head(ctx, term.device_id) == (5, "b" * 64)
    with ctx.reader() as s:
        entries = [e.changes for e in s.scalars(
            select(AuditEntry).where(AuditEntry.entity_id == term.device_id,
                                     AuditEntry.action == heads.ACTION).order_by(AuditEntry.id))]
    assert entries[0] == {"seq": 7, "hash": "a" * 64, "previous": None}
    assert entries[1]["went_back"] is True and entries[1]["previous"] == {"seq": 7, "hash": "a" * 64}
    assert _verdict(tenant).ok
