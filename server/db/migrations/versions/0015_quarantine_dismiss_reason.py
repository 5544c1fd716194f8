"""a manager resolves the quarantine: the dismissal's reason (issue 15)

``quarantine.dismiss_reason``: why a person dismissed a quarantined operation (1-500
characters, required by ``POST /sync/quarantine/{id}/dismiss``); who and when are
``resolved_by`` and ``resolved_at``. Entries dismissed before keep None.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 16:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("quarantine") as batch_op:
        batch_op.add_column(sa.Column("dismiss_reason", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("quarantine") as batch_op:
        batch_op.drop_column("dismiss_reason")
