"""rate-limit buckets shared by all workers; sign-in locks per (staff member, client)

``rate_limit_buckets`` holds one GCRA time stamp per limited client, so several server
processes on one PostgreSQL database share one limit (UNLOGGED there: no WAL, and a
crash only refills the buckets). ``sign_in_locks`` counts wrong PINs and passwords per
staff member and client (an enrolled till, else an address): a lockout earned at one
place does not lock the person out at another (docs/server-deploy.md, "Rate limits and
lockout").

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 17:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from server.db.base import UTCDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "rate_limit_buckets",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("tat", sa.Float(), nullable=False),
        sa.Column("granted", sa.Integer(), nullable=False),
        prefixes=["UNLOGGED"] if postgres else [],
    )
    op.create_table(
        "sign_in_locks",
        sa.Column("staff_id", sa.String(36), sa.ForeignKey("staff.id"), primary_key=True),
        sa.Column("client", sa.String(100), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", UTCDateTime(timezone=True), nullable=True),
        sa.Column("signed_in_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sign_in_locks")
    op.drop_table("rate_limit_buckets")
