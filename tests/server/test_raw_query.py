"""server/db/raw_query.fetch_pg: SQL with $n placeholders on the connection's own
transaction, on a real PostgreSQL database (the push's look-ups use it there)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from server.db.raw_query import fetch_pg, marks

pytestmark = pytest.mark.postgres


def test_marks_number_from_where_they_start() -> None:
    assert marks(1, 3) == "$1, $2, $3"
    assert marks(4, 2) == "$4, $5"


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
