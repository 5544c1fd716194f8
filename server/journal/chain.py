"""Chaining the audit entries of each organization, in the order they commit.

Every audit entry, whoever writes it (a push's handlers, the bulk sale writer, the back
office, sign-in, the command line), lands in ``journal_pending`` through the insert
trigger of migration 0009. Just before a writer session commits (:func:`watch` hooks
``before_commit``), :func:`seal` takes each organization's chain-head row with a row
lock (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's single writer holds the file),
reads that organization's pending entries again under the lock, links them after the
head in id order, and moves the head. The lock is the last one the transaction takes
and it is held until the commit, so two server processes never give out the same
place, and the chain's order is the order the entries committed.

An entry's hash is SHA-256 over the previous hash and the canonical JSON of its place
and its columns but the id, ``changes`` as the text stored (sealed customer fields
stay sealed: the check needs no key). The link names the row by id; leaving the id out
of the hash is what lets the check say that content was moved to another place.
"""

from __future__ import annotations

import hashlib
from collections import namedtuple
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Text, bindparam, cast, event, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from app.domain.chain import GENESIS
from server.db.base import cast_table, utcnow
from server.db.bulk_insert import insert_rows
from server.db.commerce import AuditEntry
from server.db.journal import JournalHead, JournalLink, JournalPending
from server.db.raw_query import execute_pg, fetch, fetch_pg

AUDIT = cast_table(AuditEntry)
LINKS = cast_table(JournalLink)
HEADS = cast_table(JournalHead)
PENDING = cast_table(JournalPending)
_BEGUN = "journal_begun"

CHUNK = 1000

#: An audit entry's columns as the chain hashes them (``changes`` as stored text).
CONTENT = select(
    AUDIT.c.id, AUDIT.c.org_id, AUDIT.c.store_id, AUDIT.c.entity_type, AUDIT.c.entity_id,
    AUDIT.c.action, AUDIT.c.actor_id, AUDIT.c.device_id, AUDIT.c.op_id,
    cast(AUDIT.c.changes, Text).label("changes_text"), AUDIT.c.reason, AUDIT.c.created_at,
)


def _utc(at: datetime | None) -> datetime | None:
    """The timestamp in UTC (UTCDateTime reads it back so already; orjson writes it as
    ISO 8601 with +00:00)."""
    if at is None or at.tzinfo is UTC:
        return at
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC)


def link_hash(prev_hash: str, seq: int, row: Any) -> str:
    """The hash of audit entry ``row`` (a CONTENT row) at place ``seq`` after ``prev_hash``."""
    fields = {
        "seq": seq, "org_id": row.org_id, "store_id": row.store_id,
        "entity_type": row.entity_type, "entity_id": row.entity_id, "action": row.action,
        "actor_id": row.actor_id, "device_id": row.device_id, "op_id": row.op_id,
        "changes": row.changes_text, "reason": row.reason, "created_at": _utc(row.created_at),
    }
    # orjson with sorted keys: compact canonical JSON in UTF-8, a few µs a row
    return hashlib.sha256(prev_hash.encode() + orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)
                          ).hexdigest()


def chunks(ids: list[int]) -> Iterator[list[int]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i:i + CHUNK]


def contents(conn: Connection, ids: Iterable[int]) -> dict[int, Any]:
    """The CONTENT rows of audit entries ``ids``, by id."""
    out: dict[int, Any] = {}
    for part in chunks(list(ids)):
        out.update((r.id, r) for r in conn.execute(CONTENT.where(AUDIT.c.id.in_(part))))
    return out


_LOCK_HEAD = (select(HEADS.c.seq, HEADS.c.hash).where(HEADS.c.org_id == bindparam("org"))
              .with_for_update())
_PENDING_ORGS = select(PENDING.c.org_id).distinct()
#: an organization's pending entries with their CONTENT, in id order, in one statement
#: (an id without its entry, which the trigger never leaves, comes with an id of None)
_PENDING_CONTENTS = (
    select(PENDING.c.audit_id.label("pending_id"), *CONTENT.selected_columns)
    .select_from(PENDING.outerjoin(AUDIT, AUDIT.c.id == PENDING.c.audit_id))
    .where(PENDING.c.org_id == bindparam("org"))
    .order_by(PENDING.c.audit_id)
)
_MOVE_HEAD = (update(HEADS).where(HEADS.c.org_id == bindparam("org"))
              .values(seq=bindparam("new_seq"), hash=bindparam("new_hash"),
                      updated_at=bindparam("at")))


def lock_head(conn: Connection, org_id: str) -> tuple[int, str]:
    """The organization's chain head, locked until the commit (made at GENESIS if new)."""
    row = conn.execute(_LOCK_HEAD, {"org": org_id}).first()
    if row is None:  # the organization's first entry: two writers may get here at once
        ins = pg_insert(HEADS) if conn.dialect.name == "postgresql" else sqlite_insert(HEADS)
        conn.execute(ins.values(org_id=org_id, seq=0, hash=GENESIS, updated_at=utcnow())
                     .on_conflict_do_nothing())
        row = conn.execute(_LOCK_HEAD, {"org": org_id}).one()
    return int(row.seq), str(row.hash)


def _append(conn: Connection, org_id: str, head: tuple[int, str] | None = None) -> int:
    """Chain the organization's pending entries after its head: the head locked (``head``:
    locked already, its seq and hash), then the entries read (under the lock) with their
    contents, linked, unpended, the head moved. The statements are built once (this runs
    in every writer's commit); on PostgreSQL the entries are read and unpended by one
    statement (a DELETE ... RETURNING in a CTE), and a few links are written and the head
    moved by one more (:data:`_LINK_AND_MOVE_PG`)."""
    seq, prev = head if head is not None else lock_head(conn, org_id)
    postgres = conn.dialect.name == "postgresql"
    rows: Sequence[Any] = (_take_pending_pg(conn, org_id)
                           if postgres else _pending_sqlite(conn, org_id))
    if not rows:
        return 0
    links = []
    for row in rows:
        if row.id is None:  # cannot happen while the trigger stands; never chain a ghost
            continue
        seq += 1
        digest = link_hash(prev, seq, row)
        links.append({"org_id": org_id, "seq": seq, "audit_id": row.id,
                      "prev_hash": prev, "hash": digest})
        prev = digest
    if postgres and len(links) <= FEW_LINKS:
        execute_pg(conn, _LINK_AND_MOVE_PG, [
            org_id, [link["seq"] for link in links], [link["audit_id"] for link in links],
            [link["prev_hash"] for link in links], [link["hash"] for link in links],
            seq, prev, utcnow()])
        return len(links)
    insert_rows(conn, LINKS, links)  # COPY on PostgreSQL: one statement, not one per link
    if not postgres:  # (PostgreSQL's left journal_pending as they were read)
        # every pending entry of the org was read above, under SQLite's one writer
        conn.exec_driver_sql(_DELETE_PENDING_ORG_SQLITE, (org_id,))
    conn.execute(_MOVE_HEAD, {"org": org_id, "new_seq": seq, "new_hash": prev,
                              "at": utcnow()})
    return len(links)


_Content = namedtuple("_Content", [
    "pending_id", "id", "org_id", "store_id", "entity_type", "entity_id", "action",
    "actor_id", "device_id", "op_id", "changes_text", "reason", "created_at"])
assert _Content._fields[1:] == tuple(CONTENT.selected_columns.keys()), "CONTENT's order"
#: SQLite: _PENDING_CONTENTS as written, run through the driver's cursor
#: (server/db/raw_query.py): SQLAlchemy's result rows and its timestamp parsing per
#: row cost more than the rest of the seal; a push's entries share one created_at
_PENDING_SQLITE = (
    "SELECT p.audit_id, a.id, a.org_id, a.store_id, a.entity_type, a.entity_id, a.action, "
    "a.actor_id, a.device_id, a.op_id, CAST(a.changes AS TEXT), a.reason, a.created_at "
    "FROM journal_pending AS p LEFT OUTER JOIN audit_entries AS a ON a.id = p.audit_id "
    "WHERE p.org_id = ?1 ORDER BY p.audit_id")
_DELETE_PENDING_ORG_SQLITE = "DELETE FROM journal_pending WHERE org_id = ?"


def _pending_sqlite(conn: Connection, org_id: str) -> list[Any]:
    """An organization's pending entries with their CONTENT, in id order (SQLite), each
    ``created_at`` read as the ORM reads it (the column type's result processor), once
    per distinct stored text."""
    read_time = AUDIT.c.created_at.type._cached_result_processor(conn.dialect, None)
    times: dict[Any, Any] = {}
    out = []
    for row in fetch(conn, _PENDING_SQLITE, [org_id]):
        at = row[-1]
        if at not in times:
            times[at] = read_time(at) if read_time is not None and at is not None else at
        out.append(_Content._make((*row[:-1], times[at])))
    return out


#: PostgreSQL: a few links written and the head moved in one round trip (the links as
#: arrays: one statement whatever their number); more go by COPY, then the head's UPDATE
FEW_LINKS = 100
_LINK_AND_MOVE_PG = (
    "WITH l AS (INSERT INTO journal_links (org_id, seq, audit_id, prev_hash, hash) "
    "SELECT $1, u.seq, u.audit_id, u.prev_hash, u.hash "
    "FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::text[]) "
    "AS u(seq, audit_id, prev_hash, hash)) "
    "UPDATE journal_heads SET seq = $6, hash = $7, updated_at = $8 WHERE org_id = $1")
#: PostgreSQL: _PENDING_CONTENTS' rows taken out of journal_pending as they are read, in
#: one statement, as written for the driver's cursor (server/db/raw_query.py), ``$1`` the org
_TAKE_PENDING_PG = (
    "WITH gone AS (DELETE FROM journal_pending WHERE org_id = $1 RETURNING audit_id) "
    "SELECT g.audit_id, a.id, a.org_id, a.store_id, a.entity_type, a.entity_id, a.action, "
    "a.actor_id, a.device_id, a.op_id, CAST(a.changes AS TEXT), a.reason, a.created_at "
    "FROM gone AS g LEFT OUTER JOIN audit_entries AS a ON a.id = g.audit_id "
    "ORDER BY g.audit_id")
#: PostgreSQL: the organizations with pending entries in id order (as Python sorts them:
#: COLLATE "C"), and the head of the first one locked, in one round trip (no head row
#: yet: seq and hash NULL, the head is made by :func:`lock_head`). The pending entries
#: are read by the next statement, under the lock, as :func:`_append` reads them.
_ORGS_AND_FIRST_HEAD_PG = (
    "SELECT o.orgs, h.seq, h.hash FROM (SELECT array_agg(d.org_id ORDER BY d.org_id "
    "COLLATE \"C\") AS orgs FROM (SELECT DISTINCT org_id FROM journal_pending) AS d) AS o "
    "LEFT JOIN LATERAL (SELECT seq, hash FROM journal_heads WHERE org_id = o.orgs[1] "
    "FOR UPDATE) AS h ON true")


def _take_pending_pg(conn: Connection, org_id: str) -> list[Any]:
    """An organization's pending entries with their CONTENT, in id order, taken out of
    journal_pending (PostgreSQL): ``created_at`` as the driver reads a timestamptz (aware,
    the same instant: :func:`link_hash` hashes it in UTC)."""
    return [_Content._make(row) for row in fetch_pg(conn, _TAKE_PENDING_PG, [org_id])]


def seal_connection(conn: Connection) -> int:
    """Chain every pending audit entry this connection can see; organizations in id
    order, so two transactions never wait on each other's heads in a circle. On
    PostgreSQL the organizations are found and the first one's head locked by one
    statement (:data:`_ORGS_AND_FIRST_HEAD_PG`)."""
    if conn.dialect.name != "postgresql":
        orgs = sorted(set(conn.scalars(_PENDING_ORGS)))
        return sum(_append(conn, org_id) for org_id in orgs)
    [(found, seq, digest)] = fetch_pg(conn, _ORGS_AND_FIRST_HEAD_PG, [])
    if not found:
        return 0
    first = (int(seq), str(digest)) if seq is not None else None
    return _append(conn, found[0], first) + sum(_append(conn, org_id) for org_id in found[1:])


def seal(session: Session) -> None:
    """``before_commit``: chain what this transaction wrote (nothing to do: one look).

    SQLAlchemy calls it for a savepoint's release too (a push's handler ops each run in
    one); chaining there took the head's lock at the first op and held it while later ops
    locked stock levels, orders and the feed rows, so the head was not the last lock. Only
    the outermost commit chains."""
    if session.in_nested_transaction():
        return
    if session.new or session.dirty or session.deleted:
        # SQLAlchemy calls before_commit BEFORE the commit's own flush: what is still
        # only added would be written after the seal and wait unchained for the next one
        session.flush()
    if not session.info.pop(_BEGUN, False):
        return
    seal_connection(session.connection())


def _begun(session: Session, _transaction: Any, _connection: Any) -> None:
    session.info[_BEGUN] = True


def _ended(session: Session, *_: Any) -> None:
    session.info.pop(_BEGUN, None)


def watch(factory: sessionmaker[Session]) -> None:
    """Make every session of ``factory`` chain its audit entries as it commits."""
    event.listen(factory, "after_begin", _begun)
    event.listen(factory, "before_commit", seal)
    event.listen(factory, "after_rollback", _ended)
