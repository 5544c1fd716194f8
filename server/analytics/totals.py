"""The business figures /metrics shows."""

from __future__ import annotations

from sqlalchemy import select

from server.context import AppContext
from server.db.analytics import AnalyticsTotals
from server.metrics import BusinessRows


def reader(ctx: AppContext) -> BusinessRows:
    """Reads analytics_totals (a row per store and order type) at each scrape."""

    def rows() -> list[tuple[str, str, int, int]]:
        with ctx.reader() as session:
            return [(r.store_id, r.order_type, int(r.orders), int(r.gross))
                    for r in session.scalars(select(AnalyticsTotals))]

    return rows

