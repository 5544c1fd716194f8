"""Look-ups with long ``IN`` lists on PostgreSQL, run as written.

A push's look-ups (server/sync/bulk_run.py) ask for up to 500 ids a list. Through
SQLAlchemy, an expanding ``IN`` is rendered again for every execution (a bind name
and a cast per value), and psycopg then converts the ``%s`` placeholders of the result
to ``$n`` on every execution too: it caches that conversion only for statements of at
most 50 parameters. Measured in-process on 4,000 sales (cProfile on thread time),
those two were about three quarters of the look-ups' CPU, and the look-ups 15 % of the
push writer's CPU on PostgreSQL.

:func:`fetch_pg` runs SQL written with ``$1 .. $n`` through psycopg's ``RawCursor`` on
the connection's own transaction: nothing is rendered or converted. A database error
is raised as SQLAlchemy raises it (``OperationalError`` for a deadlock or a lost
connection, which the push retries), as :mod:`server.db.bulk_insert` does for COPY.
Values come back as the driver reads them: only for columns of plain types (text,
integers, booleans; a ``timestamptz`` comes back aware, in the session's time zone).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from server import tracing


@lru_cache(maxsize=4096)
def marks(start: int, count: int, sign: str = "$") -> str:
    """``$start, $start+1, ...``: ``count`` placeholders numbered from ``start``
    (``sign`` ``?`` for SQLite's ``?NNN``)."""
    return ", ".join(f"{sign}{i}" for i in range(start, start + count))


def fetch(conn: Connection, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """:func:`fetch_pg` on PostgreSQL (``$n``); on SQLite (``?n``) the driver's own
    cursor on the connection's transaction (SQLAlchemy's result object cost more than
    the query for a push's thousand product rows). Values as the driver reads them: for
    text and integer columns only (SQLite gives 0/1 for a boolean, a string for a
    timestamp). The connection must be in its transaction already (BEGIN emitted: the
    push's session has run a statement), as for :func:`fetch_pg`."""
    if conn.dialect.name == "postgresql":
        return fetch_pg(conn, sql, params)
    driver = conn.connection.driver_connection
    assert driver is not None, "a live connection"
    dbapi_error = conn.dialect.loaded_dbapi.Error
    try:
        cursor = driver.execute(sql, tuple(params))
        try:
            return cursor.fetchall()
        finally:
            cursor.close()
    except dbapi_error as exc:  # as SQLAlchemy would raise it
        raise DBAPIError.instance(sql, tuple(params), exc, dbapi_error,
                                  dialect=conn.dialect) from exc


def fetch_pg(conn: Connection, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Every row of ``sql`` (``$n`` placeholders) with ``params``, on PostgreSQL."""
    rows = _run_pg(conn, sql, params, fetch=True)
    assert isinstance(rows, list)
    return rows


def execute_pg(conn: Connection, sql: str, params: Sequence[Any]) -> int:
    """Run ``sql`` (``$n`` placeholders, no rows back) with ``params`` on PostgreSQL, as
    :func:`fetch_pg` does; the number of rows it changed."""
    count = _run_pg(conn, sql, params, fetch=False)
    assert isinstance(count, int)
    return count


def _run_pg(conn: Connection, sql: str, params: Sequence[Any], *, fetch: bool
            ) -> list[tuple[Any, ...]] | int:
    import psycopg  # the PostgreSQL driver; not needed by a SQLite server

    driver = conn.connection.driver_connection
    assert isinstance(driver, psycopg.Connection), "for PostgreSQL only"
    dbapi_error = conn.dialect.loaded_dbapi.Error
    try:
        with tracing.sql_span(sql), psycopg.RawCursor(driver) as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if fetch else cursor.rowcount
    except dbapi_error as exc:  # as SQLAlchemy would raise it
        raise DBAPIError.instance(sql, None, exc, dbapi_error,
                                  dialect=conn.dialect) from exc
