"""analytics rollups (issue 15)

The rollups the dashboards read (sales, products, tenders, refunds, deletions by store,
UTC quarter-hour, terminal, staff and order type), each order's share of them, all-time
totals per store and order type (the /metrics gauges) and the stores' time zones.
``tillsync-server analytics rebuild`` fills them from the orders already recorded.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 22:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import server.db.base

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = server.db.base.UTCDateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
BIG = sa.BigInteger()


def _id(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.String(length=36), nullable=False)


def _base() -> list[sa.Column]:  # type: ignore[type-arg]
    return [_id("store_id"), sa.Column("slot", TS, nullable=False), _id("terminal_id"),
            _id("staff_id"), sa.Column("order_type", sa.String(length=10), nullable=False)]


def _sums(*names: str) -> list[sa.Column]:  # type: ignore[type-arg]
    return [sa.Column(name, BIG, nullable=False) for name in names]


BASE_KEY = ["store_id", "slot", "terminal_id", "staff_id", "order_type"]


def upgrade() -> None:
    op.create_table(
        "analytics_orders",
        _id("order_id"), _id("org_id"), _id("store_id"),
        sa.Column("order_type", sa.String(length=10), nullable=False),
        _id("terminal_id"),
        sa.Column("facts", JSON, nullable=False),
        *_sums("total", "paid", "refunded"),
        sa.Column("payment_ids", JSON, nullable=False),
        sa.Column("installments", JSON, nullable=False),
        sa.Column("plan_open", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_analytics_orders")),
    )
    op.create_index(op.f("ix_analytics_orders_store_id"), "analytics_orders",
                    ["store_id", "plan_open"])
    op.create_table(
        "analytics_sales", *_base(),
        *_sums("orders", "gross", "tax", "plans_started", "plan_amount"),
        sa.PrimaryKeyConstraint(*BASE_KEY, name=op.f("pk_analytics_sales")),
    )
    op.create_table(
        "analytics_products", *_base(),
        sa.Column("product_key", sa.String(length=310), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        *_sums("qty_milli", "revenue"),
        sa.PrimaryKeyConstraint(*BASE_KEY, "product_key", name=op.f("pk_analytics_products")),
    )
    op.create_table(
        "analytics_tenders", *_base(),
        sa.Column("tender", sa.String(length=30), nullable=False),
        sa.Column("on_plan", sa.Boolean(), nullable=False),
        *_sums("payments", "amount"),
        sa.PrimaryKeyConstraint(*BASE_KEY, "tender", "on_plan",
                                name=op.f("pk_analytics_tenders")),
    )
    op.create_table(
        "analytics_refunds", *_base(),
        sa.Column("method", sa.String(length=30), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        *_sums("refunds", "amount"),
        sa.PrimaryKeyConstraint(*BASE_KEY, "method", "reason",
                                name=op.f("pk_analytics_refunds")),
    )
    op.create_table(
        "analytics_deletions", *_base(),
        sa.Column("reason", sa.String(length=200), nullable=False),
        *_sums("orders", "amount"),
        sa.PrimaryKeyConstraint(*BASE_KEY, "reason", name=op.f("pk_analytics_deletions")),
    )
    op.create_table(
        "analytics_totals", _id("store_id"),
        sa.Column("order_type", sa.String(length=10), nullable=False),
        *_sums("orders", "gross"),
        sa.PrimaryKeyConstraint("store_id", "order_type", name=op.f("pk_analytics_totals")),
    )
    op.create_table(
        "analytics_store_zones", _id("store_id"),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("store_id", name=op.f("pk_analytics_store_zones")),
    )


def downgrade() -> None:
    for name in ("analytics_store_zones", "analytics_totals", "analytics_deletions",
                 "analytics_refunds", "analytics_tenders", "analytics_products",
                 "analytics_sales"):
        op.drop_table(name)
    op.drop_index(op.f("ix_analytics_orders_store_id"), table_name="analytics_orders")
    op.drop_table("analytics_orders")
