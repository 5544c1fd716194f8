"""exact stock counts: absolute counts and compensations (issue 18)

``stock_levels.counted_at``: the store's latest exact count of a product, so a movement
dated before it that arrives later is compensated; an index on stock_movements
(store_id, product_id, created_at) for a product's ledger up to a count's moment.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 22:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db.base

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = server.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("stock_levels") as batch_op:
        batch_op.add_column(sa.Column("counted_at", TS, nullable=True))
    op.create_index("ix_stock_movements_store_product_created", "stock_movements",
                    ["store_id", "product_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_stock_movements_store_product_created", table_name="stock_movements")
    with op.batch_alter_table("stock_levels") as batch_op:
        batch_op.drop_column("counted_at")
