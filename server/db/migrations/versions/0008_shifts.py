"""shifts: a till's trading shift, opened with a float and closed with the drawer counted

One open shift per terminal, held by a partial unique index on ``terminal_id`` where
``status = 'open'`` (issue 14; the ``shift.open`` and ``shift.close`` operations).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 20:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import server.db.base

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = server.db.base.UTCDateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "shifts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("store_id", sa.String(length=36), nullable=False),
        sa.Column("terminal_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("opened_by", sa.String(length=36), nullable=False),
        sa.Column("opened_at", TS, nullable=False),
        sa.Column("opening_float", sa.Integer(), nullable=False),
        sa.Column("float_counted", JSON, nullable=True),
        sa.Column("closed_by", sa.String(length=36), nullable=True),
        sa.Column("closed_at", TS, nullable=True),
        sa.Column("counted_cash", sa.Integer(), nullable=True),
        sa.Column("expected_cash", sa.Integer(), nullable=True),
        sa.Column("over_short", sa.Integer(), nullable=True),
        sa.Column("close_reason", sa.String(length=500), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_shifts_org_id"), "shifts", ["org_id"])
    op.create_index(op.f("ix_shifts_store_id"), "shifts", ["store_id"])
    op.create_index("ix_shifts_one_open", "shifts", ["terminal_id"], unique=True,
                    sqlite_where=sa.text("status = 'open'"),
                    postgresql_where=sa.text("status = 'open'"))


def downgrade() -> None:
    op.drop_index("ix_shifts_one_open", table_name="shifts")
    op.drop_index(op.f("ix_shifts_store_id"), table_name="shifts")
    op.drop_index(op.f("ix_shifts_org_id"), table_name="shifts")
    op.drop_table("shifts")
