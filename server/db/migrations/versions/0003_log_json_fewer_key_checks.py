"""append-only logs as plain json (lz4-compressed) and no per-row key checks on copies

A push of sales writes, per sale, some twenty rows whose foreign keys PostgreSQL checks
one by one, and a dozen JSON documents that ``jsonb`` parses and sorts. This revision:

- stores the append-only logs (``feed_entries.data``, ``events.payload``,
  ``audit_entries.changes``, ``processed_ops.result``) as ``json`` on PostgreSQL (kept
  as written; they are read back whole, never queried inside), compressed with lz4
  where the server has it (pglz was a tenth of a push's database time);
- drops the foreign keys of columns that copy a tenant id the writer already holds:
  ``payments.org_id``/``store_id`` (the payment's order keeps its key),
  ``stock_movements.org_id`` (its store keeps its key), ``audit_entries.org_id``,
  ``feed_entries.store_id`` (positions are taken by locking the store's row in the
  same transaction) and ``processed_ops.device_id`` (the terminal's row is locked by
  the push that writes it).

On SQLite only the keys change (its JSON is text either way).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 18:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, referred table)
KEYS = [
    ("payments", "org_id", "organizations"),
    ("payments", "store_id", "stores"),
    ("stock_movements", "org_id", "organizations"),
    ("audit_entries", "org_id", "organizations"),
    ("feed_entries", "store_id", "stores"),
    ("processed_ops", "device_id", "terminals"),
]
LOGS = [
    ("feed_entries", "data"),
    ("events", "payload"),
    ("audit_entries", "changes"),
    ("processed_ops", "result"),
]


def _key_name(table: str, column: str, referred: str) -> str:
    return f"fk_{table}_{column}_{referred}"


def _has_lz4() -> bool:
    row = op.get_bind().execute(sa.text(
        "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
    )).scalar()
    return bool(row)


def upgrade() -> None:
    for table, column, referred in KEYS:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(_key_name(table, column, referred), type_="foreignkey")
    if op.get_bind().dialect.name != "postgresql":
        return
    lz4 = _has_lz4()
    for table, column in LOGS:
        op.alter_column(table, column, type_=postgresql.JSON(),
                        existing_type=postgresql.JSONB(), postgresql_using=f"{column}::json")
        if lz4:
            op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION lz4")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, column in LOGS:
            op.alter_column(table, column, type_=postgresql.JSONB(),
                            existing_type=postgresql.JSON(),
                            postgresql_using=f"{column}::jsonb")
    for table, column, referred in KEYS:
        with op.batch_alter_table(table) as batch:
            batch.create_foreign_key(_key_name(table, column, referred), referred,
                                     [column], ["id"])
