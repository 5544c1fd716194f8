"""A sale's stock movements are its order lines, not stock_movements rows (issue 17)

A pushed sale wrote a stock_movements row per line of a stock-tracked product: the same
facts as the line (store, product, -qty, the sale's time, its reference, actor and
till) plus the level after it. From now on such a line carries that level in
``order_lines.stock_after_milli`` and is itself the movement (id = the line's id); the
stock ledger (server/sync/stock.py) reads these lines joined to their orders plus the
stock_movements rows (receipts, counts, adjustments, compensations, and the sales
stored as rows before this migration). A partial index on the lines' product serves
the ledger of a product.

Order edits delete and re-write an order's lines (server/sync/order_edits.py) without
moving stock: a trigger first writes a deleted line's sale movement as a
stock_movements row with the same values (the line's id), so the ledger keeps it.
The downgrade writes every line's sale movement as a row the same way.

Mind on SQLite: a later ``batch_alter_table("order_lines")`` that re-creates the table
drops this trigger; such a migration must create it again
(tests/server/test_sale_movements_derived.py fails without it: the edited sale's
movement is lost from the ledger).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 16:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ("id, org_id, store_id, product_id, kind, qty_delta_milli, qty_after_milli, "
            "reason, reference, actor_id, device_id, created_at")
#: a line's sale movement, the values it had as a row ({line}: OLD or a table alias)
_VALUES = ("{line}.id, o.org_id, o.store_id, {line}.product_id, 'sale', -{line}.qty_milli, "
           "{line}.stock_after_milli, NULL, o.reference, o.created_by, o.device_id, "
           "o.created_at")
_MOVE_DELETED = (f"INSERT INTO stock_movements ({_COLUMNS}) SELECT {_VALUES.format(line='OLD')} "
                 "FROM orders AS o WHERE o.id = OLD.order_id")
_WHERE = sa.text("stock_after_milli IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("order_lines") as batch:
        batch.add_column(sa.Column("stock_after_milli", sa.Integer(), nullable=True))
    op.create_index("ix_order_lines_product_moved", "order_lines", ["product_id"],
                    sqlite_where=_WHERE, postgresql_where=_WHERE)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE FUNCTION order_line_sale_movement() RETURNS trigger "
                   f"LANGUAGE plpgsql AS $$ BEGIN {_MOVE_DELETED}; RETURN OLD; END $$")
        op.execute("CREATE TRIGGER order_lines_sale_movement BEFORE DELETE ON order_lines "
                   "FOR EACH ROW WHEN (OLD.stock_after_milli IS NOT NULL) "
                   "EXECUTE FUNCTION order_line_sale_movement()")
    else:
        op.execute("CREATE TRIGGER order_lines_sale_movement BEFORE DELETE ON order_lines "
                   f"WHEN OLD.stock_after_milli IS NOT NULL BEGIN {_MOVE_DELETED}; END")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS order_lines_sale_movement"
               + (" ON order_lines" if op.get_bind().dialect.name == "postgresql" else ""))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS order_line_sale_movement()")
    op.execute(f"INSERT INTO stock_movements ({_COLUMNS}) SELECT {_VALUES.format(line='l')} "
               "FROM order_lines AS l JOIN orders AS o ON o.id = l.order_id "
               "WHERE l.stock_after_milli IS NOT NULL")
    op.drop_index("ix_order_lines_product_moved", table_name="order_lines")
    with op.batch_alter_table("order_lines") as batch:
        batch.drop_column("stock_after_milli")
