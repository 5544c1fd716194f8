"""per-staff approval key and salt (the approver proof bound to the operation)

A privileged op (a deletion, a refund, an approval decision, a conflict resolution, a
price change) carries a MAC made with ``argon2id(PIN, approval_salt)``; the server keeps
that key sealed with its data key (``approval_key``) and sends the salt with the staff
row (docs/security.md). Nothing is backfilled (the server has no PINs): a staff member's
key is made the next time the server sees their PIN (a PIN change, or an online sign-in);
until then their approvals are applied and flagged ``unverified_approval`` as before.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 19:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.add_column(sa.Column("approval_salt", sa.String(length=120), nullable=True))
        batch.add_column(sa.Column("approval_key", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.drop_column("approval_key")
        batch.drop_column("approval_salt")
