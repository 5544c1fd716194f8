"""staff seen working on each terminal (terminal_staff)

The server flags a privileged op (a deletion, a refund, an approval decision, a price
change) whose approver was never seen on the pushing till: ``unverified_approval``
(docs/security.md). A staff member is seen on a till by an ordinary op pushed from it
in their name, or by an online sign-in carrying the till's token. Nothing is backfilled:
the first privileged op of each approver on each till after the upgrade is flagged
unless they have worked on it since.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 17:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db.base

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "terminal_staff",
        sa.Column("terminal_id", sa.String(length=36), nullable=False),
        sa.Column("staff_id", sa.String(length=36), nullable=False),
        sa.Column("via", sa.String(length=20), nullable=False),
        sa.Column("first_seen_at", server.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("terminal_id", "staff_id"),
    )


def downgrade() -> None:
    op.drop_table("terminal_staff")
