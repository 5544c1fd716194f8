"""server/db/raw_query: SQL with numbered placeholders on the connection's own
transaction (the push's look-ups), on real PostgreSQL and SQLite databases."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from server.db.raw_query import fetch, fetch_pg, marks


def test_marks_number_from_where_they_start() -> None:
    assert marks(1, 3) == "$1, $2, $3"
    assert marks(4, 2) == "$4, $5"
    assert marks(2, 2, "?") == "?2, ?3"


def test_sqlite_reads_numbered_marks_in_the_open_transaction(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'raw.db'}")
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (id varchar(36) PRIMARY KEY, org text)"))
            conn.execute(text("INSERT INTO t VALUES (:id, :org)"),
                         [{"id": f"id-{i:04d}", "org": "a" if i % 2 else "b"}
                          for i in range(700)])
            ids = [f"id-{i:04d}" for i in range(100, 700)]
            rows = fetch(conn, f"SELECT 'x', id FROM t WHERE org = ?1 AND id IN "
                               f"({marks(2, len(ids), '?')}) ORDER BY id", ["a", *ids])
        assert len(rows) == 300
        assert rows[0] == ("x", "id-0101")
    finally:
        engine.dispose()


def test_sqlite_errors_are_raised_as_sqlalchemy_raises_them(tmp_path: Path) -> None:
    """The driver's own cursor (no SQLAlchemy result): a database error still comes out
    as SQLAlchemy's, an OperationalError (which the push retries) for SQLite's."""
    engine = create_engine(f"sqlite:///{tmp_path / 'raw.db'}")
    try:
        with engine.begin() as conn, pytest.raises(OperationalError) as caught:
            fetch(conn, "SELECT nothing FROM nowhere WHERE id = ?1", ["x"])
        assert "nowhere" in str(caught.value)
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_a_long_in_list_reads_what_the_transaction_wrote(pg_database: str) -> None:
    engine = create_engine(pg_database)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (id varchar(36) PRIMARY KEY, n integer, "
                              "b boolean, at timestamptz)"))
            conn.execute(text("INSERT INTO t VALUES (:id, :n, :b, :at)"), [
                {"id": f"id-{i:04d}", "n": i, "b": i % 2 == 0,
                 "at": datetime(2026, 1, 1, tzinfo=UTC)} for i in range(700)])
            # 600 parameters (psycopg converts only up to 50 from its cache), not committed
            ids = [f"id-{i:04d}" for i in range(100, 700)] + ["missing"]
            rows = fetch_pg(conn, f"SELECT id, n, b, at FROM t WHERE id IN "
                                  f"({marks(1, len(ids))}) ORDER BY id", ids)
        assert len(rows) == 600
        assert rows[0] == ("id-0100", 100, True, datetime(2026, 1, 1, tzinfo=UTC))
        assert rows[-1][:3] == ("id-0699", 699, False)
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_database_errors_are_raised_as_sqlalchemy_raises_them(pg_database: str) -> None:
    """A cancelled statement (as a lock or statement timeout) is an OperationalError,
    which the push retries; a wrong statement is not."""
    engine = create_engine(pg_database)
    try:
        with engine.begin() as conn, pytest.raises(ProgrammingError):
            fetch_pg(conn, "SELECT nothing FROM nowhere WHERE id = $1", ["x"])
        with engine.begin() as conn, pytest.raises(OperationalError):
            conn.execute(text("SET LOCAL statement_timeout = 10"))
            fetch_pg(conn, "SELECT pg_sleep($1)", [1])
    finally:
        engine.dispose()
