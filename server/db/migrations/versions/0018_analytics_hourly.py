"""hourly and daily analytics rollups (issue 15)

``analytics_hourly``: kept orders by store, UTC hour and order type; a dashboard whose
hours each fall in one of its periods (a zone a whole number of hours off UTC) reads its
totals, order types and periods there. ``analytics_daily_sales`` and ``_tenders``: the
quarter-hour rollups' twins by UTC day (same columns, ``slot`` the UTC
midnight); a dashboard reads the whole UTC days of its range there and only the ragged
ends from the quarter-hours, in any zone. All kept by the analytics consumer beside the
quarter-hour rows (server/analytics/consumer.py) and filled here from them, so an
existing database needs no rebuild.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 07:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db.base

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = server.db.base.UTCDateTime(timezone=True)
BIG = sa.BigInteger()
BASE = ("store_id", "slot", "terminal_id", "staff_id", "order_type")
#: daily twin: (extra key columns and their types, summed columns, latest columns)
TWINS: dict[str, tuple[tuple[tuple[str, sa.types.TypeEngine], ...], tuple[str, ...],  # type: ignore[type-arg]
                       tuple[str, ...]]] = {
    "sales": ((), ("orders", "gross", "tax", "plans_started", "plan_amount"), ()),
    "tenders": ((("tender", sa.String(length=30)), ("on_plan", sa.Boolean())),
                ("payments", "amount"), ()),
}
HOURLY_SUMS = TWINS["sales"][1]


def _id(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.String(length=36), nullable=False)


def _trunc(unit: str) -> str:
    """SQL for the UTC hour or day a ``slot`` falls in, as the column stores it."""
    if op.get_bind().dialect.name == "postgresql":
        return f"(date_trunc('{unit}', slot AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')"
    if unit == "hour":  # SQLite keeps 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC)
        return "(substr(slot, 1, 13) || ':00:00.000000')"
    return "(substr(slot, 1, 10) || ' 00:00:00.000000')"


def _fill(target: str, source: str, keys: list[str], sums: tuple[str, ...],
          latest: tuple[str, ...], unit: str) -> None:
    at = _trunc(unit)
    cols = ", ".join([*keys, *sums, *latest])
    picked = ", ".join([at if k in ("slot", "hour") else k for k in keys]
                       + [f"sum({s})" for s in sums] + [f"max({c})" for c in latest])
    groups = ", ".join(at if k in ("slot", "hour") else k for k in keys)
    nonzero = " OR ".join(f"sum({s}) <> 0" for s in sums)
    op.execute(f"INSERT INTO {target} ({cols}) SELECT {picked} FROM {source} "
               f"GROUP BY {groups} HAVING {nonzero}")


def upgrade() -> None:
    op.create_table(
        "analytics_hourly", _id("store_id"), sa.Column("hour", TS, nullable=False),
        sa.Column("order_type", sa.String(length=10), nullable=False),
        *[sa.Column(name, BIG, nullable=False) for name in HOURLY_SUMS],
        sa.PrimaryKeyConstraint("store_id", "hour", "order_type",
                                name=op.f("pk_analytics_hourly")),
    )
    op.execute(f"INSERT INTO analytics_hourly (store_id, hour, order_type, "
               f"{', '.join(HOURLY_SUMS)}) SELECT store_id, {_trunc('hour')}, order_type, "
               f"{', '.join(f'sum({s})' for s in HOURLY_SUMS)} FROM analytics_sales "
               f"GROUP BY store_id, {_trunc('hour')}, order_type HAVING "
               f"{' OR '.join(f'sum({s}) <> 0' for s in HOURLY_SUMS)}")
    for name, (extra, sums, latest) in TWINS.items():
        table = f"analytics_daily_{name}"
        op.create_table(
            table, _id("store_id"), sa.Column("slot", TS, nullable=False), _id("terminal_id"),
            _id("staff_id"), sa.Column("order_type", sa.String(length=10), nullable=False),
            *[sa.Column(k, t, nullable=False) for k, t in extra],
            *[sa.Column(c, sa.String(length=300), nullable=False) for c in latest],
            *[sa.Column(s, BIG, nullable=False) for s in sums],
            sa.PrimaryKeyConstraint(*BASE, *[k for k, _t in extra], name=op.f(f"pk_{table}")),
        )
        _fill(table, f"analytics_{name}", [*BASE, *[k for k, _t in extra]], sums, latest,
              "day")


def downgrade() -> None:
    for name in TWINS:
        op.drop_table(f"analytics_daily_{name}")
    op.drop_table("analytics_hourly")
