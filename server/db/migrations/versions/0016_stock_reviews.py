"""the reconciliation list on the server (issue 18 item 6)

``stock_reviews``: the items of a store's reconciliation list a stock clerk accepted
(``stock.accept``: who, when, why, from which till; one per item and store), served to
the store's other tills through the feed. ``stores.recount_share_ppm``: the store's
share beyond which a count is listed for a recount (None: the default, 25 %), sent to
its tills with its settings.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 04:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db.base

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = server.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "stock_reviews",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("store_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("product_id", sa.String(length=36), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("accepted_by", sa.String(length=36), nullable=False),
        sa.Column("accepted_at", TS, nullable=False),
        sa.Column("device_id", sa.String(length=36), nullable=True),
        sa.Column("op_id", sa.String(length=64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("store_id", "key"),
    )
    with op.batch_alter_table("stores") as batch_op:
        batch_op.add_column(sa.Column("recount_share_ppm", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("stores") as batch_op:
        batch_op.drop_column("recount_share_ppm")
    op.drop_table("stock_reviews")
