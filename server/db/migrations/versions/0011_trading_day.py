"""the trading day: cash movements, Z reports (issue 14)

The Z report on the shift (its number, unique per terminal, the count by denomination,
the card batch total, the over/short's approver, the figures at the close) and the
shifts' cash movements (``cash.move``: paid in, paid out, drops, no-sales).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 22:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import server.db.base

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = server.db.base.UTCDateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("shifts") as batch_op:
        batch_op.add_column(sa.Column("z_number", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("counted_by_denomination", JSON, nullable=True))
        batch_op.add_column(sa.Column("card_batch_total", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("approved_by", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("report", JSON, nullable=True))
    op.create_index("ux_shifts_terminal_z", "shifts", ["terminal_id", "z_number"], unique=True)
    op.create_table(
        "cash_movements",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("store_id", sa.String(length=36), nullable=False),
        sa.Column("terminal_id", sa.String(length=36), nullable=False),
        sa.Column("shift_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("actor_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"]),
        sa.ForeignKeyConstraint(["shift_id"], ["shifts.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_cash_movements_org_id"), "cash_movements", ["org_id"])
    op.create_index(op.f("ix_cash_movements_shift_id"), "cash_movements", ["shift_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_cash_movements_shift_id"), table_name="cash_movements")
    op.drop_index(op.f("ix_cash_movements_org_id"), table_name="cash_movements")
    op.drop_table("cash_movements")
    op.drop_index("ux_shifts_terminal_z", table_name="shifts")
    with op.batch_alter_table("shifts") as batch_op:
        for name in ("report", "approved_by", "card_batch_total", "counted_by_denomination",
                     "z_number"):
            batch_op.drop_column(name)
