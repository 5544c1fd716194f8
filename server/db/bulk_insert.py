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
from server.db.raw_query import execute_pg, fetch_pg


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


#: at most this many parameters in one :func:`insert_together` statement (PostgreSQL
#: takes 65,535); a larger set of rows goes table by table
MAX_TOGETHER_PARAMS = 20_000
#: statements kept (one per shape: tables, their keys, their numbers of rows)
MAX_TOGETHER_SHAPES = 512

_together: dict[tuple[Any, tuple[tuple[str, tuple[str, ...], int], ...], str | None],
                tuple[str, tuple[Callable[[dict[str, Any]], Any], ...]]] = {}


def _together_sql(conn: Connection, parts: Sequence[tuple[Table, Sequence[dict[str, Any]]]],
                  shape: tuple[tuple[str, tuple[str, ...], int], ...], returning: str | None
                  ) -> tuple[str, tuple[Callable[[dict[str, Any]], Any], ...]] | None:
    """One statement for the rows of every part (``WITH t1 AS (INSERT ...), ... INSERT
    ...``, ``$n`` placeholders), and each part's row-to-parameters function (the same
    bind processing as :func:`insert_rows`); None if a part has no plan."""
    quote = conn.dialect.identifier_preparer.quote
    inserts: list[str] = []
    makers = []
    n = 1
    for (table, _rows), (_name, keys, count) in zip(parts, shape, strict=True):
        plan = _plan(conn, table, keys)
        if plan is None:
            return None
        makers.append(plan.params_of)  # (a tuple in ``keys`` order: the COPY's row)
        values = []
        for _ in range(count):
            values.append("(" + ", ".join(f"${i}" for i in range(n, n + len(keys))) + ")")
            n += len(keys)
        inserts.append(f"INSERT INTO {quote(table.name)} ({', '.join(quote(k) for k in keys)})"
                       f" VALUES {', '.join(values)}")
    if returning is not None:
        inserts[-1] += f" RETURNING {quote(returning)}"
    if len(inserts) == 1:
        sql = inserts[0]
    else:
        ctes = ", ".join(f"w{i} AS ({ins})" for i, ins in enumerate(inserts[:-1]))
        sql = f"WITH {ctes} {inserts[-1]}"
    return sql, tuple(makers)


def insert_together(conn: Connection, parts: Sequence[tuple[Table, Sequence[dict[str, Any]]]],
                    returning: str | None = None) -> list[Any] | None:
    """PostgreSQL: the rows of several tables (each part's rows with the same keys) in one
    statement and one round trip, ``WITH w0 AS (INSERT INTO a ...) INSERT INTO b ...``,
    written once per shape (which tables, their keys, how many rows each) as SQL with
    numbered placeholders and run on the driver's own cursor (as server/db/raw_query.py
    does): no statement built, no placeholder converted per call. Values go through the
    same bind processing as :func:`insert_rows`. Foreign keys between the parts are
    checked at the end of the statement, so a part may name rows of an earlier one.

    ``returning``: a column of the LAST part's table, whose values for its rows are
    returned (in no promised order); else an empty list. None (nothing done) on SQLite,
    with too many values, or for a part whose rows leave a column with a Python default
    out: the caller then inserts them its own way."""
    parts = [(table, rows) for table, rows in parts if rows]
    if not parts or conn.dialect.name != "postgresql":
        return None
    shape = tuple((table.name, tuple(rows[0]), len(rows)) for table, rows in parts)
    if sum(len(keys) * count for _name, keys, count in shape) > MAX_TOGETHER_PARAMS:
        return None
    cache_key = (conn.dialect, shape, returning)
    built = _together.get(cache_key)
    if built is None:
        made = _together_sql(conn, parts, shape, returning)
        if made is None:
            return None
        if len(_together) >= MAX_TOGETHER_SHAPES:
            _together.clear()
        _together[cache_key] = built = made
    sql, makers = built
    params: list[Any] = []
    for (_table, rows), params_of in zip(parts, makers, strict=True):
        for row in rows:
            params.extend(params_of(row))
    if returning is None:  # (raw_query: the driver's cursor, its span, SQLAlchemy's errors)
        execute_pg(conn, sql, params)
        return []
    return [row[0] for row in fetch_pg(conn, sql, params)]


def row_parameters(conn: Connection, table: Table, keys: tuple[str, ...]
                   ) -> Callable[[dict[str, Any]], tuple[Any, ...]] | None:
    """PostgreSQL: a function giving a row's values (keys ``keys``) as the driver takes
    them, in ``keys`` order, through the same bind processing as :func:`insert_rows`
    (None where insert_rows would leave the rows to SQLAlchemy)."""
    plan = _plan(conn, table, keys)
    if plan is None or plan.copy_sql is None:
        return None
    return plan.params_of  # type: ignore[no-any-return]
