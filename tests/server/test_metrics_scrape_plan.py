"""The /metrics scrape reads the open quarantine entries, open conflicts and undelivered
webhook deliveries through migration 0017's partial indexes, not the tables whole
(benchmarks/notes/metrics.md: the webhook figures walked every event on SQLite)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event

from benchmarks.metrics_scrape import seed
from server.db.engine import make_engine, run_migrations, session_factories
from server.metrics_fleet import read_fleet


def test_the_scrape_reads_the_partial_indexes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/scrape.db"
    run_migrations(url)
    engine = make_engine(url)
    statements: list[tuple[str, Any]] = []

    def seen(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        statements.append((statement, parameters))

    try:
        # most deliveries delivered and analysed: the planner then judged the (status,
        # next_attempt_at) index too wide and walked every event by organization
        seed(engine, 60)
        event.listen(engine, "before_cursor_execute", seen)
        _, reader = session_factories(engine)
        with reader() as session:
            read_fleet(session, datetime.now(UTC))
        event.remove(engine, "before_cursor_execute", seen)
        plans = []
        with engine.connect() as conn:
            for statement, parameters in statements:
                if statement.lstrip().upper().startswith("SELECT"):
                    plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
                    plans.append(" | ".join(str(row[-1]) for row in plan))
    finally:
        engine.dispose()
    joined = "\n".join(plans)
    for index in ("ix_quarantine_open", "ix_conflicts_open"):
        assert index in joined, joined
    # the deliveries are found by their status (either index), never by walking events
    assert "SEARCH webhook_deliveries USING INDEX ix_webhook_deliveries_" in joined, joined
    assert "SCAN events" not in joined and "SCAN webhook_deliveries" not in joined, joined
