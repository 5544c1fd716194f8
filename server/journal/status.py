"""Running the journal check and reading its latest result.

:func:`check_all` chains what a writer left waiting, then checks every organization's
journal in one consistent snapshot and records each result (``journal_checks``). The
scheduled task (server/journal/endpoints.py), ``tillsync-server audit verify`` and the
metric read the same records; :func:`latest_result` is the call for other code (the
"needs attention" list): ``latest_result(session, org_id)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from server.db.journal import JournalCheck
from server.journal.chain import seal_connection
from server.journal.verify import Verdict, organizations, verify_org

CHECKS = JournalCheck.__table__
PROBLEM_LENGTH = 500


@dataclass(frozen=True)
class CheckResult:
    """The latest check of an organization's journal, as recorded."""

    org_id: str
    checked_at: datetime
    ok: bool
    entries: int
    position: int | None
    problem: str | None


def _snapshot(engine: Engine) -> Connection:
    """A connection whose reads all see one moment (the chain and its head agree)."""
    conn = engine.connect()
    if engine.dialect.name == "postgresql":
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
    else:
        conn = conn.execution_options(sqlite_begin="DEFERRED")
    return conn


def verify_all(engine: Engine, writer: sessionmaker[Session], org_id: str | None = None
               ) -> list[Verdict]:
    """Chain anything left waiting, then check each organization (or only ``org_id``)."""
    with writer.begin() as session:
        seal_connection(session.connection())
    with _snapshot(engine) as conn, conn.begin():
        orgs = [org_id] if org_id else organizations(conn)
        return [verify_org(conn, org) for org in orgs]


def record(session: Session, verdicts: list[Verdict]) -> None:
    for v in verdicts:
        session.add(JournalCheck(
            org_id=v.org_id, ok=v.ok, entries=v.entries,
            position=None if v.found is None else v.found.position,
            problem=None if v.problem is None else v.problem[:PROBLEM_LENGTH]))


def check_all(engine: Engine, writer: sessionmaker[Session], org_id: str | None = None
              ) -> list[Verdict]:
    """Check and record (what the schedule and the command line run)."""
    verdicts = verify_all(engine, writer, org_id)
    with writer.begin() as session:
        record(session, verdicts)
    return verdicts


def _result(row: Any) -> CheckResult:
    return CheckResult(row.org_id, row.checked_at, row.ok, row.entries, row.position, row.problem)


def latest_result(session: Session, org_id: str) -> CheckResult | None:
    """The organization's latest recorded check, or None if none has run yet."""
    row = session.execute(select(CHECKS).where(CHECKS.c.org_id == org_id)
                          .order_by(CHECKS.c.id.desc()).limit(1)).first()
    return None if row is None else _result(row)


def latest_results(session: Session) -> list[CheckResult]:
    """Each organization's latest recorded check (for the metric)."""
    last = select(func.max(CHECKS.c.id)).group_by(CHECKS.c.org_id)
    rows = session.execute(select(CHECKS).where(CHECKS.c.id.in_(last)).order_by(CHECKS.c.org_id))
    return [_result(r) for r in rows]
