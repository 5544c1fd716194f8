"""Many rows into one table with the driver's executemany, bind processing looked up once.

``conn.execute(insert(table), rows)`` costs SQLAlchemy about 10 µs a row before the
driver sees it: a parameter dict per row built through the compiled statement, then
every value through its type's processor, found again for each row. A push of 500
sales writes some 9,000 rows (orders, lines, payments, stock movements, audit entries,
events, feed entries, stored results), so that was a seventh of the push.

:func:`insert_rows` runs the same compiled INSERT (its SQL, its casts, its
paramstyle) through ``exec_driver_sql`` after applying the same type processors, taken
once per statement, and a row's parameters built by a function made for that
statement (one tuple display, no loop per value). On PostgreSQL the rows go through
COPY ... FROM STDIN on the same connection and transaction instead: one executed
INSERT per row costs the database server more than the row itself. Rows must all have
the same keys; a
table column missing from them that has a default set in Python is left to SQLAlchemy
(the plain path), so nothing is written differently.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, insert
from sqlalchemy.exc import DBAPIError

from server import tracing


@dataclass(frozen=True)
class _Plan:
    sql: str
    params_of: Callable[[dict[str, Any]], Any]  # a row's parameters, as the driver takes them
    copy_sql: str | None = None  # PostgreSQL: COPY ... FROM STDIN of the same columns


def _plan_of(compiled: Any, dialect: Any, keys: tuple[str, ...], table: Table | None = None
             ) -> _Plan:
    """The compiled SQL and a function that builds one row's parameters.

    The function is generated (``lambda row: (row['id'], p1(row['data']), ...)``): for
    thousands of rows a tuple display is several times quicker than a loop over the
    columns. Processors are passed in by name, keys as string literals (repr)."""
    sql = str(compiled)
    order = tuple(compiled.positiontup or ()) if compiled.positional else keys
    copy_sql = None
    if table is not None and dialect.name == "postgresql":
        quote = dialect.identifier_preparer.quote
        copy_sql = (f"COPY {quote(table.name)} ({', '.join(quote(k) for k in keys)}) "
                    "FROM STDIN")
    # a processor of its own per column (not the type's one cached processor): a
    # timestamp column's remembers its own last value (server/db/base.py UTCDateTime),
    # so a push's ``now`` in received_at is not formatted again after each created_at
    processors = {f"p{i}": proc for i, k in enumerate(order)
                  if (proc := compiled.binds[k].type.dialect_impl(dialect)
                      .bind_processor(dialect))}
    values = [f"p{i}(row[{k!r}])" if f"p{i}" in processors else f"row[{k!r}]"
              for i, k in enumerate(order)]
    if compiled.positional or copy_sql is not None:
        source = f"lambda row: ({', '.join(values)}{',' if len(values) == 1 else ''})"
    else:
        source = "lambda row: {" + ", ".join(f"{k!r}: {v}" for k, v in zip(order, values,
                                                                          strict=True)) + "}"
    return _Plan(sql, eval(source, dict(processors)), copy_sql)  # noqa: S307 - built above


# Plans are kept per dialect object, not per dialect name: a type's bind processor is
# made for one dialect and reads what hangs on it (the engine's data key, which
# server/crypto.py's KeyFollower replaces when the key is rotated while the server
# runs). Keyed by name, the first engine's processors sealed for every later engine of
# the process with the first engine's key. Dialects hash and compare by identity.
_plans: dict[tuple[Any, str, tuple[str, ...]], _Plan | None] = {}


def _plan(conn: Connection, table: Table, keys: tuple[str, ...]) -> _Plan | None:
    cache_key = (conn.dialect, table.name, keys)
    if cache_key in _plans:
        return _plans[cache_key]
    plan: _Plan | None = None
    defaults_left_out = any(col.default is not None for col in table.columns
                            if col.key not in keys)
    if not defaults_left_out and set(keys) <= set(table.c.keys()):
        compiled = insert(table).compile(dialect=conn.dialect, column_keys=list(keys))
        plan = _plan_of(compiled, conn.dialect, keys, table)
    _plans[cache_key] = plan
    return plan


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT every row (dicts with the same keys) in one executemany."""
    if not rows:
        return
    plan = _plan(conn, table, tuple(rows[0]))
    if plan is None:
        conn.execute(insert(table), list(rows))
        return
    params_of = plan.params_of
    if plan.copy_sql is not None:
        # PostgreSQL: COPY takes rows as a stream, several times quicker than one
        # INSERT execution per row; same connection, same transaction
        driver = conn.connection.driver_connection
        dbapi_error = conn.dialect.loaded_dbapi.Error
        try:  # SQLAlchemy's instrumentation does not see COPY: its own span
            with tracing.span("db.copy", table=table.name, rows=len(rows)), \
                    driver.cursor() as cursor, cursor.copy(plan.copy_sql) as copy:
                for row in rows:
                    copy.write_row(params_of(row))
        except dbapi_error as exc:  # as SQLAlchemy would raise it (IntegrityError, ...)
            raise DBAPIError.instance(plan.copy_sql, None, exc, dbapi_error,
                                      dialect=conn.dialect) from exc
        return
    conn.exec_driver_sql(plan.sql, [params_of(row) for row in rows])


_statement_plans: dict[tuple[Any, int], tuple[_Plan, Any]] = {}


def execute_rows(conn: Connection, statement: Any, rows: Sequence[dict[str, Any]]) -> None:
    """One executemany of a statement built once (module level) whose parameters are
    explicit ``bindparam``s, such as ``UPDATE ... WHERE id = :b_id``: the same as
    ``conn.execute(statement, rows)``, with the bind processing looked up once."""
    if not rows:
        return
    cache_key = (conn.dialect, id(statement))
    cached = _statement_plans.get(cache_key)
    if cached is None or cached[1] is not statement:
        compiled = statement.compile(dialect=conn.dialect)
        cached = (_plan_of(compiled, conn.dialect, tuple(compiled.binds)), statement)
        _statement_plans[cache_key] = cached
    plan = cached[0]
    params_of = plan.params_of
    conn.exec_driver_sql(plan.sql, [params_of(row) for row in rows])
