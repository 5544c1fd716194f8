"""PostgreSQL plans a single statement for the tables as they are (server.db.engine).

psycopg used to prepare a statement after five runs, and PostgreSQL kept the plan made
then: look-ups planned on a new, nearly empty database went on scanning whole tables
as they grew. A single statement is now prepared only where PostgreSQL plans each
execution for its values (plan_cache_mode = force_custom_plan); an executemany always
is (one statement for all its rows).
"""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, text

from server.db.engine import PREPARE_WITH_CUSTOM_PLANS, make_engine

pytestmark = pytest.mark.postgres


def _plan_cache_mode(url: str, mode: str) -> None:
    """``plan_cache_mode`` for the database's new sessions (as a role's setting would be)."""
    admin = make_engine(url)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f'ALTER DATABASE "{url.rsplit("/", 1)[1]}" SET plan_cache_mode = {mode}')
    admin.dispose()


def test_single_statements_are_planned_each_time_and_executemany_once(pg_database: str
                                                                     ) -> None:
    """Under ``plan_cache_mode = auto`` (PostgreSQL's default) a prepared statement may
    get a generic plan, kept: then nothing but an executemany is prepared."""
    _plan_cache_mode(pg_database, "auto")
    engine = make_engine(pg_database)
    try:
        with engine.begin() as conn:
            prepared = "SELECT count(*) FROM pg_prepared_statements"
            _look_ups_follow_the_table(conn, prepared, prepared_while_empty=0)
            conn.exec_driver_sql("UPDATE items SET qty = %s WHERE id = %s",
                                 [(n, f"i{n}") for n in range(1, 50)])
            assert conn.execute(text(prepared)).scalar_one() == 1
    finally:
        engine.dispose()


def test_statements_are_prepared_only_where_every_execution_gets_its_own_plan(
        pg_database: str, caplog: pytest.LogCaptureFixture) -> None:
    """With ``plan_cache_mode = force_custom_plan`` set for the database (or the role:
    what a pooler's server connections get too), a single statement is prepared from its
    second run, and still planned for the table as it is at each execution: no plan made
    on the empty table is kept. A connection without that mode prepares nothing: test
    above (this one fails if a connection could prepare under a mode that keeps plans)."""
    _plan_cache_mode(pg_database, "force_custom_plan")
    engine = make_engine(pg_database)
    try:
        with caplog.at_level("INFO", "tillsync.server.db"), engine.begin() as conn:
            assert conn.exec_driver_sql("SHOW plan_cache_mode").scalar_one() == "force_custom_plan"
            _look_ups_follow_the_table(
                conn, "SELECT count(*) FROM pg_prepared_statements"
                      " WHERE statement LIKE 'SELECT qty FROM items%'", prepared_while_empty=1)
            driver = conn.connection.driver_connection
            assert driver is not None and driver.prepare_threshold == PREPARE_WITH_CUSTOM_PLANS
        assert "statements are prepared" in caplog.text
    finally:
        engine.dispose()


def _look_ups_follow_the_table(conn: Connection, prepared_query: str, *,
                               prepared_while_empty: int) -> None:
    """A look-up by key run ten times on an empty table (where a scan is the cheapest
    plan; ``prepared_query`` counts the prepared statements then) still goes through the
    key once the table has grown."""
    conn.exec_driver_sql("CREATE TABLE items (id text PRIMARY KEY, qty integer)")
    for _ in range(10):
        conn.exec_driver_sql("SELECT qty FROM items WHERE id IN (%s, %s)", ("a", "b"))
    assert conn.execute(text(prepared_query)).scalar_one() == prepared_while_empty
    conn.exec_driver_sql(
        "INSERT INTO items SELECT 'i' || n, n FROM generate_series(1, 20000) AS n")
    scans = text("SELECT seq_scan, idx_scan FROM pg_stat_xact_user_tables"
                 " WHERE relname = 'items'")
    seq_before, idx_before = conn.execute(scans).one()
    for _ in range(3):
        conn.exec_driver_sql("SELECT qty FROM items WHERE id IN (%s, %s)", ("i1", "i2"))
    seq_after, idx_after = conn.execute(scans).one()
    assert seq_after == seq_before and idx_after > idx_before  # through the key
