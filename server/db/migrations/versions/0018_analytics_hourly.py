"""hourly analytics rollup (issue 15)

``analytics_hourly``: kept orders summed by store, UTC hour and order type, kept by the
analytics consumer beside the quarter-hour rows (server/analytics/consumer.py). A
dashboard whose days start on a whole UTC hour (every store whose zone is a whole number
of hours off UTC) reads its totals, order types and periods from a month's ~1,400 rows
instead of a row per quarter-hour, terminal and staff member. Filled here from
``analytics_sales``, so an existing database needs no rebuild.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 07:10:00
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

import server.db.base

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = server.db.base.UTCDateTime(timezone=True)
BIG = sa.BigInteger()
SUMS = ("orders", "gross", "tax", "plans_started", "plan_amount")
BATCH = 5000


def upgrade() -> None:
    hourly = op.create_table(
        "analytics_hourly",
        sa.Column("store_id", sa.String(length=36), nullable=False),
        sa.Column("hour", TS, nullable=False),
        sa.Column("order_type", sa.String(length=10), nullable=False),
        *[sa.Column(name, BIG, nullable=False) for name in SUMS],
        sa.PrimaryKeyConstraint("store_id", "hour", "order_type",
                                name=op.f("pk_analytics_hourly")),
    )
    assert hourly is not None
    _backfill(hourly)


def _backfill(hourly: sa.Table) -> None:
    """Sum the quarter-hour rows into hours (streamed in key order, one hour at a time)."""
    sales = sa.table("analytics_sales", sa.column("store_id"), sa.column("slot", TS),
                     sa.column("order_type"), *[sa.column(n, BIG) for n in SUMS])
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(sales.c.store_id, sales.c.slot, sales.c.order_type,
                  *[sa.func.sum(sales.c[n]) for n in SUMS])
        .group_by(sales.c.store_id, sales.c.slot, sales.c.order_type)).all()
    acc: dict[tuple[str, datetime, str], list[int]] = {}
    for store_id, slot, kind, *sums in rows:
        key = (store_id, slot.replace(minute=0, second=0, microsecond=0), kind)
        total = acc.setdefault(key, [0] * len(SUMS))
        for i, v in enumerate(sums):
            total[i] += int(v or 0)
    params: list[dict[str, Any]] = [
        {"store_id": s, "hour": h, "order_type": k} | dict(zip(SUMS, v, strict=True))
        for (s, h, k), v in acc.items() if any(v)]
    for i in range(0, len(params), BATCH):
        conn.execute(hourly.insert(), params[i:i + BATCH])


def downgrade() -> None:
    op.drop_table("analytics_hourly")
