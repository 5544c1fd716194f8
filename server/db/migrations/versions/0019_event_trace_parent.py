"""events.trace_parent: the push's trace, for the webhook delivery (issue 19)

A push is one trace from the terminal's request through the group commit to the webhook
delivery; the delivery runs later, in the webhook worker, so the event row carries the
W3C ``traceparent`` of the transaction that wrote it (NULL when tracing is off).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 08:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("trace_parent", sa.String(55), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("trace_parent")
