"""Server migrations: head matches the models, and the last revisions downgrade and
upgrade cleanly, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from server.db.engine import alembic_config, make_engine, run_migrations
from server.db.models import Base


def _diff(url: str) -> list[object]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(ctx, Base.metadata))
    finally:
        engine.dispose()


def _round_trip(url: str) -> None:
    run_migrations(url)
    assert _diff(url) == []
    command.downgrade(alembic_config(url), "0001")
    command.upgrade(alembic_config(url), "head")
    assert _diff(url) == []


def test_head_matches_models_and_round_trips(tmp_path) -> None:  # type: ignore[no-untyped-def]
    _round_trip(f"sqlite:///{tmp_path}/m.db")


@pytest.mark.postgres
def test_head_matches_models_and_round_trips_on_postgres(pg_database: str) -> None:
    _round_trip(pg_database)
    engine = make_engine(pg_database)
    try:
        with engine.connect() as conn:
            types = dict(conn.execute(text(
                "SELECT table_name || '.' || column_name, data_type FROM information_schema.columns"
                " WHERE column_name IN ('data', 'payload', 'changes', 'result', 'details')"
            )).all())
    finally:
        engine.dispose()
    # the append-only logs are kept as written; what is edited in place stays jsonb
    assert types["feed_entries.data"] == "json"
    assert types["events.payload"] == "json"
    assert types["processed_ops.result"] == "json"
    assert types["approvals.details"] == "jsonb"
