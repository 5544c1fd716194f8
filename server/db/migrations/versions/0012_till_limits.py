"""till limits by role (issue 14)

The store's till limits (app/domain/till_limits.py): a JSON column on ``stores``, None
meaning the defaults; sent to the store's tills with its settings.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 22:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("stores") as batch_op:
        batch_op.add_column(sa.Column("till_limits", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("stores") as batch_op:
        batch_op.drop_column("till_limits")
