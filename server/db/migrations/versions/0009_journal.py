"""the server's journal: append-only, hash-chained per organization (issue 18)

``audit_entries`` and ``journal_links`` refuse UPDATE and DELETE (triggers, on SQLite
and PostgreSQL; on PostgreSQL TRUNCATE too); ``journal_heads`` refuses DELETE. Every
new audit entry is put in ``journal_pending`` by a trigger, and the writing
transaction's commit chains it (server/journal/chain.py). The entries written before
this revision are put there too, so the first commit after the upgrade chains them,
in id order. docs/journal.md.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 22:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db.base

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = server.db.base.UTCDateTime(timezone=True)

#: (table, refuse UPDATE too?) guarded as append-only
GUARDED = (("audit_entries", True), ("journal_links", True), ("journal_heads", False))

PG_FUNCTIONS = """
CREATE FUNCTION journal_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
END $$;
CREATE FUNCTION journal_pend() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO journal_pending (audit_id, org_id) SELECT id, org_id FROM new_rows;
    RETURN NULL;
END $$;
"""


def _tables() -> None:
    op.create_table(
        "journal_links",
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "seq", name=op.f("pk_journal_links")),
        sa.UniqueConstraint("audit_id", name=op.f("uq_journal_links_audit_id")),
    )
    op.create_table(
        "journal_heads",
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_journal_heads")),
    )
    op.create_table(
        "journal_pending",
        sa.Column("audit_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("audit_id", name=op.f("pk_journal_pending")),
    )
    op.create_table(
        "journal_terminal_heads",
        sa.Column("terminal_id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("terminal_id", name=op.f("pk_journal_terminal_heads")),
    )
    op.create_table(
        "journal_checks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("checked_at", TS, nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column("problem", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal_checks")),
    )
    op.create_index(op.f("ix_journal_checks_org_id"), "journal_checks", ["org_id"])


def _sqlite_triggers() -> None:
    for table, no_update in GUARDED:
        if no_update:
            op.execute(f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} BEGIN "
                       f"SELECT RAISE(ABORT, '{table} is append-only: UPDATE refused'); END")
        op.execute(f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} BEGIN "
                   f"SELECT RAISE(ABORT, '{table} is append-only: DELETE refused'); END")
    op.execute("CREATE TRIGGER audit_entries_pend AFTER INSERT ON audit_entries BEGIN "
               "INSERT INTO journal_pending (audit_id, org_id) VALUES (NEW.id, NEW.org_id); END")


def _pg_triggers() -> None:
    op.execute(PG_FUNCTIONS)
    for table, no_update in GUARDED:
        refused = "UPDATE OR DELETE" if no_update else "DELETE"
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE {refused} ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION journal_refuse()")
        op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION journal_refuse()")
    op.execute("CREATE TRIGGER audit_entries_pend AFTER INSERT ON audit_entries "
               "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
               "EXECUTE FUNCTION journal_pend()")


def upgrade() -> None:
    _tables()
    op.execute("INSERT INTO journal_pending (audit_id, org_id) SELECT id, org_id FROM audit_entries")
    if op.get_bind().dialect.name == "postgresql":
        _pg_triggers()
    else:
        _sqlite_triggers()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, _ in GUARDED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP TRIGGER IF EXISTS audit_entries_pend ON audit_entries")
        op.execute("DROP FUNCTION IF EXISTS journal_pend()")
        op.execute("DROP FUNCTION IF EXISTS journal_refuse()")
    else:
        for table, _ in GUARDED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        op.execute("DROP TRIGGER IF EXISTS audit_entries_pend")
    op.drop_index(op.f("ix_journal_checks_org_id"), table_name="journal_checks")
    op.drop_table("journal_checks")
    op.drop_table("journal_terminal_heads")
    op.drop_table("journal_pending")
    op.drop_table("journal_heads")
    op.drop_table("journal_links")
