"""Writing rows without the ORM unit of work, for the hot paths (a sale, the audit
entry and the outbox operation every mutation writes).

An ORM flush of a dozen new objects costs milliseconds of Python (attribute
instrumentation, dependency sorting, one compiled statement per object). Here
each table gets one INSERT compiled once per process, and values are converted
by the columns' own SQLAlchemy types (DateTime, Boolean, JSON), so a row written
here is stored exactly as the ORM would store it and reads back the same. Python
side column defaults (``default=0``, ``default=utcnow``) are applied too.

The rows go through the session's own connection: same transaction, same
``BEGIN IMMEDIATE`` write lock, same commit. ORM events (``before_insert``) do
not fire, so callers seal what the events would seal (see ``outbox_crypto``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from app.domain.ids import new_id

_MISSING = object()


class _TableWriter:
    __slots__ = ("sql", "names", "procs", "defaults", "columns")

    def __init__(self, table: Table, dialect: Dialect) -> None:
        columns = list(table.columns)
        prep = dialect.identifier_preparer
        self.names = [c.name for c in columns]
        self.sql = (
            f"INSERT INTO {prep.format_table(table)} ({', '.join(prep.format_column(c) for c in columns)}) "
            f"VALUES ({', '.join('?' for _ in columns)})"
        )
        self.procs: list[Callable[[Any], Any] | None] = [
            c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns
        ]
        self.defaults: list[Any] = []
        for c in columns:
            d = c.default
            if d is None or not getattr(d, "is_scalar", False) and not getattr(d, "is_callable", False):
                self.defaults.append(None)
            elif d.is_scalar:
                self.defaults.append(d.arg)
            else:
                arg = d.arg  # SQLAlchemy wraps zero-argument callables to take a context
                self.defaults.append(_Call(arg))
        self.columns = tuple(zip(self.names, self.procs, self.defaults, strict=True))

    def params(self, row: Mapping[str, Any]) -> list[Any]:
        out = []
        get = row.get
        for name, proc, default in self.columns:
            value = get(name, _MISSING)
            if value is _MISSING:
                value = default() if default.__class__ is _Call else default
            out.append(value if proc is None or value is None else proc(value))
        return out


class _Call:
    __slots__ = ("fn",)

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        self.fn = fn

    def __call__(self) -> Any:
        return self.fn(None)


_writers: dict[tuple[int, str], _TableWriter] = {}


def _writer(table: Table, dialect: Dialect) -> _TableWriter:
    key = (id(table), dialect.name)
    w = _writers.get(key)
    if w is None:
        w = _writers[key] = _TableWriter(table, dialect)
    return w


def write_rows(cur: Any, dialect: Dialect, model: Any, rows: Iterable[Mapping[str, Any]]) -> None:
    """INSERT ``rows`` (dicts keyed by column name) into ``model``'s table with the DB-API
    cursor ``cur`` of a connection in a transaction. Unknown keys are ignored; missing
    ones get the column default."""
    w = _writer(model.__table__, dialect)
    params = [w.params(r) for r in rows]
    if len(params) == 1:
        cur.execute(w.sql, params[0])
    elif params:
        cur.executemany(w.sql, params)


def insert_rows(session: Session, model: Any, rows: Iterable[Mapping[str, Any]]) -> None:
    """:func:`write_rows` in the session's transaction (the write lock is taken first)."""
    conn = session.connection()
    cur = conn.connection.driver_connection.cursor()
    try:
        write_rows(cur, conn.dialect, model, rows)
    finally:
        cur.close()


def payment_row(order_id: str, method: str, amount: int, *, actor_id: str, device_id: str,
                created_at: datetime, tendered: int | None = None, change: int = 0,
                installment_id: str | None = None, payment_id: str | None = None) -> dict[str, Any]:
    """A ``payments`` row, the one place its columns are filled: a sale's tenders and a
    later payment (app/services/sales.py), a refund's negative payment
    (app/services/approvals.py), a payment pulled from the server (sync/apply_orders.py).
    Written with :func:`insert_rows` or as ``Payment(**row)``. ``tendered`` is the amount
    unless more cash was handed over; a payment made here gets a new id."""
    return {"id": payment_id or new_id(), "order_id": order_id, "method": method,
            "amount": amount, "tendered": amount if tendered is None else tendered,
            "change": change, "installment_id": installment_id, "actor_id": actor_id,
            "device_id": device_id, "created_at": created_at}


def driver_cursor(session: Session) -> Any:
    """A DB-API cursor on the session's connection (in its transaction, lock taken)."""
    return session.connection().connection.driver_connection.cursor()
