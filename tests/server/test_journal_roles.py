"""docs/server-deploy.md's application role, run as written on PostgreSQL: the app
appends to the journal and moves the chain head, and may not edit, delete, truncate or
un-trigger it."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from server.db.engine import make_engine, run_migrations, session_factories
from server.db.models import AuditEntry
from server.journal import status
from tests.server.conftest import PG_ADMIN

DOC = Path(__file__).resolve().parents[2] / "docs" / "server-deploy.md"


def _role_block() -> str:
    doc = DOC.read_text()
    section = doc[doc.index("### An application role"):]
    return re.search(r"```sql\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]


@pytest.mark.postgres
def test_the_documented_app_role_appends_but_cannot_change_the_journal(pg_database: str) -> None:
    run_migrations(pg_database)
    role = f"tillsync_app_{uuid.uuid4().hex[:8]}"
    database = pg_database.rsplit("/", 1)[1]
    sql = _role_block().replace("tillsync_app", role)
    with psycopg.connect(PG_ADMIN.rsplit("/", 1)[0] + f"/{database}", autocommit=True) as admin:
        admin.execute(sql)
    engine = make_engine(pg_database.replace("postgres@", f"{role}:change-me@"))
    try:
        writer, _ = session_factories(engine)
        with writer.begin() as s:
            for i in range(3):
                s.add(AuditEntry(org_id="org-roles", entity_type="test", entity_id=str(i),
                                 action="test.write"))
        [verdict] = status.verify_all(engine, writer, "org-roles")
        assert verdict.ok and verdict.entries == 3
        for statement in ("UPDATE audit_entries SET reason = 'x'", "DELETE FROM audit_entries",
                          "TRUNCATE audit_entries", "UPDATE journal_links SET hash = 'x'",
                          "DELETE FROM journal_heads",
                          "ALTER TABLE audit_entries DISABLE TRIGGER USER",
                          "DROP TRIGGER audit_entries_append_only ON audit_entries"):
            with pytest.raises(DBAPIError, match="permission denied|must be owner"), \
                    writer.begin() as s:
                s.execute(text(statement))
    finally:
        engine.dispose()
        with psycopg.connect(PG_ADMIN.rsplit("/", 1)[0] + f"/{database}", autocommit=True) as admin:
            admin.execute(f"DROP OWNED BY {role}")
            admin.execute(f"DROP ROLE {role}")
