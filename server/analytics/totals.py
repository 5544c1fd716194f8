"""The business figures /metrics shows, and each terminal's sync lag."""

from __future__ import annotations

from sqlalchemy import select

from server.context import AppContext, TerminalPrincipal
from server.db.analytics import AnalyticsTotals
from server.metrics import BusinessRows

MAX_LAG_S = 10 * 365 * 24 * 3600.0


def reader(ctx: AppContext) -> BusinessRows:
    """Reads analytics_totals (a row per store and order type) at each scrape."""

    def rows() -> list[tuple[str, str, int, int]]:
        with ctx.reader() as session:
            return [(r.store_id, r.order_type, int(r.orders), int(r.gross))
                    for r in session.scalars(select(AnalyticsTotals))]

    return rows


def note_lag(ctx: AppContext, terminal: TerminalPrincipal, age_s: float | None) -> None:
    """The age of the oldest operation the terminal had not synced when it pushed (an
    old till sends none: its gauge is left as it was)."""
    if age_s is None or terminal.terminal_id is None:
        return
    ctx.metrics.sync_lag.labels(terminal.store_id, terminal.terminal_id).set(
        min(max(age_s, 0.0), MAX_LAG_S))
