"""stock_movements: the single-column indexes on store_id and product_id dropped (issue 17)

Every query of stock_movements is by id or by (store_id, product_id[, created_at])
(server/sync/stock.py ``ledger_at``, server/feed/snapshot.py ``_moved_since``), which
``ix_stock_movements_store_product_created`` (0010) serves: a store alone is its first
column. The two single-column indexes only cost writes: a pushed sale writes a movement
per line, and the raw inserts of a 10,000-sale push's rows spent about a third of their
stock_movements time in them (benchmarks/push_floor.py; benchmarks/notes/push.md). On a
small, unanalysed table PostgreSQL also picked them for the ledger's range instead of
the composite (tests/server/test_stock_counts.py).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 13:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_stock_movements_store_id", table_name="stock_movements")
    op.drop_index("ix_stock_movements_product_id", table_name="stock_movements")


def downgrade() -> None:
    op.create_index("ix_stock_movements_product_id", "stock_movements", ["product_id"])
    op.create_index("ix_stock_movements_store_id", "stock_movements", ["store_id"])
