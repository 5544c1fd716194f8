"""Alembic migrations: empty -> head, down to base and up again, and schema == models."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from app.store import models  # noqa: F401
from app.store.base import Base
from app.store.database import Database, alembic_config, downgrade, upgrade


def _include(obj, name, type_, reflected, compare_to) -> bool:  # noqa: ANN001
    return not (type_ == "table" and name and name.startswith("products_fts"))


def schema_diff(db: Database) -> list:
    with db.writer.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": _include})
        return compare_metadata(ctx, Base.metadata)


def _objects(db: Database) -> set[tuple[str, str]]:
    with db.writer.connect() as conn:
        return {tuple(r) for r in conn.execute(text(
            "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"))}


@pytest.fixture
def empty_db(tmp_path: Path):
    db = Database(tmp_path / "m.sqlite", migrate=False)
    yield db
    db.close()


def test_single_head(empty_db: Database) -> None:
    heads = ScriptDirectory.from_config(alembic_config(empty_db.writer)).get_heads()
    assert len(heads) == 1, f"migrations branch: {heads}"


def test_upgrade_down_up_and_models_match(empty_db: Database) -> None:
    db = empty_db
    assert _objects(db) == set()
    upgrade(db.writer)
    assert schema_diff(db) == []
    at_head = _objects(db)
    assert ("table", "products_fts") in at_head
    assert ("trigger", "audit_log_no_update") in at_head
    assert ("trigger", "products_fts_ai") in at_head
    downgrade(db.writer, "base")
    assert {name for _, name in _objects(db)} == {"alembic_version"}
    upgrade(db.writer)
    assert _objects(db) == at_head
    assert schema_diff(db) == []


def test_every_step_goes_down_and_up(empty_db: Database) -> None:
    db = empty_db
    script = ScriptDirectory.from_config(alembic_config(db.writer))
    revisions = [r.revision for r in reversed(list(script.walk_revisions()))]
    for rev in revisions:
        upgrade(db.writer, rev)
    for rev in reversed(revisions[:-1]):
        downgrade(db.writer, rev)
    downgrade(db.writer, "base")
    upgrade(db.writer)
    assert schema_diff(db) == []


def test_the_diff_would_see_a_drift(empty_db: Database) -> None:
    """The comparison is not vacuous: a column the models lack shows up as a difference."""
    db = empty_db
    upgrade(db.writer)
    with db.writer.begin() as conn:
        conn.execute(text("ALTER TABLE orders ADD COLUMN stray INTEGER"))
    diff = schema_diff(db)
    assert any(d[0] == "remove_column" and d[3].name == "stray" for d in diff), diff
    assert "stray" in {c["name"] for c in inspect(db.writer).get_columns("orders")}


def test_head_revision_constant_is_alembics_head(tmp_path):
    """The fast start-up path trusts HEAD_REVISION; it must name the newest migration."""
    from alembic.script import ScriptDirectory

    from app.store.database import HEAD_REVISION, Database, alembic_config, current_revision

    db = Database(tmp_path / "h.sqlite")
    try:
        assert ScriptDirectory.from_config(alembic_config(db.writer)).get_current_head() == HEAD_REVISION
        assert current_revision(db.writer) == HEAD_REVISION
    finally:
        db.close()
