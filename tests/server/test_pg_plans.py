"""PostgreSQL plans a single statement for the tables as they are (server.db.engine).

psycopg used to prepare a statement after five runs, and PostgreSQL kept the plan made
then: look-ups planned on a new, nearly empty database went on scanning whole tables
as they grew. A single statement is now never prepared; an executemany still is (one
statement for all its rows).
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from server.db.engine import make_engine

pytestmark = pytest.mark.postgres


def test_single_statements_are_planned_each_time_and_executemany_once(pg_database: str
                                                                     ) -> None:
    engine = make_engine(pg_database)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE items (id text PRIMARY KEY, qty integer)")
            prepared = text("SELECT count(*) FROM pg_prepared_statements")
            for _ in range(10):  # an empty table: a scan is the cheapest plan
                conn.exec_driver_sql("SELECT qty FROM items WHERE id IN (%s, %s)", ("a", "b"))
            assert conn.execute(prepared).scalar_one() == 0
            conn.exec_driver_sql(
                "INSERT INTO items SELECT 'i' || n, n FROM generate_series(1, 20000) AS n")
            scans = text("SELECT seq_scan, idx_scan FROM pg_stat_xact_user_tables"
                         " WHERE relname = 'items'")
            seq_before, idx_before = conn.execute(scans).one()
            for _ in range(3):
                conn.exec_driver_sql("SELECT qty FROM items WHERE id IN (%s, %s)", ("i1", "i2"))
            seq_after, idx_after = conn.execute(scans).one()
            assert seq_after == seq_before and idx_after > idx_before  # through the key
            conn.exec_driver_sql("UPDATE items SET qty = %s WHERE id = %s",
                                 [(n, f"i{n}") for n in range(1, 50)])
            assert conn.execute(prepared).scalar_one() == 1
    finally:
        engine.dispose()
