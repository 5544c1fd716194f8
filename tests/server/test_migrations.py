"""Server migrations: head matches the models, and 0002 downgrades and upgrades cleanly."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

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


def test_head_matches_models_and_round_trips(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path}/m.db"
    run_migrations(url)
    assert _diff(url) == []
    command.downgrade(alembic_config(url), "0001")
    command.upgrade(alembic_config(url), "head")
    assert _diff(url) == []
