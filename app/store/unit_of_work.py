"""The one path every mutation takes: domain rows, audit entry and outbox operation
committed in a single SQLite transaction, or none of them.

    with store.mutation(actor, "sale.complete") as m:
        m.session.add(order)
        m.audit("order", order.id, changes, reason=None)
        m.emit(OpType.ORDER_CREATE, order.id, payload)

Leaving the block without an audit entry or without exactly one outbox operation
is a programming error and rolls the whole mutation back. A bulk mutation (a
catalog import) is the one exception: all-or-nothing, one operation per entity.

Several mutations that must stand or fall together (an exchange: the refund request,
its approval and the new sale) run inside :func:`one_transaction`: each is still
complete on its own (rows, audit entry, one operation, checked as it ends, undone
alone by a savepoint when it fails), and all of them commit at once, or none does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from app.domain import approval_proof
from app.domain.ids import new_id
from app.domain.operations import CATALOGUE, OpType
from app.domain.permissions import Role
from app.store import audit
from app.store.base import utcnow
from app.store.database import Database
from app.store.models import AuditEntry, OutboxOperation
from app.store.outbox_crypto import open_payload, seal_payload
from app.store.rows import write_rows

OPERATION_FORMAT_VERSION = 1


@dataclass(frozen=True)
class Actor:
    """The signed-in person a mutation is done by."""

    staff_id: str
    name: str
    role: Role
    #: argon2id(PIN, approval_salt), derived when the person typed their PIN (sign-in or
    #: override); in memory only, never stored: it proves the privileged ops they approve.
    approval_key: bytes | None = field(default=None, repr=False, compare=False)


class IncompleteMutation(RuntimeError):
    """A mutation tried to commit without its audit entry or outbox operation."""


class WrongPayload(TypeError):
    """A service emitted an operation with a payload that is not its type's model: a
    programming error, never a message for staff."""


def wire_payload(op_type: OpType, payload: BaseModel) -> dict[str, Any]:
    """The wire form of an operation's payload, made here and nowhere else: the catalogue's
    model for ``op_type`` (app/domain/operations.py), every field of it (the server reads
    the same model, so a default sent is the default it would assume), dates and times
    as ``isoformat()`` text (``+00:00``, as the till always sent; the server parses both)."""
    spec = CATALOGUE.get(op_type) if isinstance(op_type, OpType) else None
    if spec is None:
        raise WrongPayload(f"{op_type!r} is not an operation type of the catalogue (use OpType)")
    if not isinstance(payload, spec.payload):
        raise WrongPayload(f"{op_type.value} takes a {spec.payload.__name__} payload, "
                           f"not {type(payload).__name__}")
    return _json_ready(payload.model_dump())


_PLAIN = frozenset({str, int, bool, float, type(None)})


def _json_ready(value: Any) -> Any:
    """``value`` with every date and datetime as isoformat text (on a sale's path: the
    plain leaves are passed over without a call each)."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is dict:
        return {k: v if type(v) in _PLAIN else _json_ready(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [v if type(v) in _PLAIN else _json_ready(v) for v in value]
    if isinstance(value, date):  # a datetime is a date too
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    return value


_DEVICE_COUNTERS = ("order_counter", "op_seq", "audit_seq", "audit_head")


@dataclass
class DeviceCounters:
    """This terminal's device row as a mutation sees it: identity and the counters it advances.

    Read with one query when the mutation starts (under the write lock, so no other
    writer can move the counters) and written back with one UPDATE before commit,
    only if a counter moved. Cheaper than an ORM-tracked ``Device`` on every sale.
    """

    id: str
    code: str
    store_id: str
    order_counter: int
    op_seq: int
    audit_seq: int
    audit_head: str
    _loaded: tuple[Any, ...] = ()

    def _state(self) -> tuple[Any, ...]:
        return (self.order_counter, self.op_seq, self.audit_seq, self.audit_head)


def _load_device(cur: Any, device_id: str) -> DeviceCounters | None:
    row = cur.execute(
        "SELECT id, code, store_id, order_counter, op_seq, audit_seq, audit_head FROM device WHERE id = ?",
        (device_id,),
    ).fetchone()
    if row is None:
        return None
    device = DeviceCounters(*row)
    device._loaded = device._state()
    return device


def _save_device(cur: Any, device: DeviceCounters) -> None:
    if device._state() == device._loaded:
        return
    cur.execute(
        "UPDATE device SET order_counter = ?, op_seq = ?, audit_seq = ?, audit_head = ? WHERE id = ?",
        (*device._state(), device.id),
    )
    device._loaded = device._state()


@dataclass(frozen=True, slots=True)
class EmittedOperation:
    """What :meth:`Mutation.emit` wrote to the outbox (the payload in its wire form)."""

    op_id: str
    op_seq: int
    type: str
    entity_id: str
    base_version: int
    payload: dict[str, Any]


@dataclass
class Mutation:
    session: Session
    device: DeviceCounters
    actor: Actor
    action: str
    at: datetime
    operations: list[EmittedOperation] = field(default_factory=list)
    audited: int = 0
    bulk: bool = False
    op_count: int = 0
    cursor: Any = None  # DB-API cursor on the session's connection, in its transaction
    dialect: Any = None
    #: a manager who typed their PIN for an op the actor makes (``approved_by``: a sale
    #: past the actor's till limits); their key proves it
    approver: Actor | None = None

    def insert(self, model: Any, rows: Any) -> None:
        """INSERT rows (dicts by column name) now, in this mutation's transaction
        (:func:`app.store.rows.write_rows`: no ORM flush, column types and defaults applied)."""
        write_rows(self.cursor, self.dialect, model, rows)

    def audit(
        self,
        entity_type: str,
        entity_id: str,
        changes: dict[str, Any],
        reason: str | None = None,
        action: str | None = None,
    ) -> None:
        row = audit.entry_row(
            self.device,
            at=self.at,
            actor_id=self.actor.staff_id,
            action=action or self.action,
            entity_type=entity_type,
            entity_id=entity_id,
            changes=changes,
            reason=reason,
        )
        self.insert(AuditEntry, (row,))
        self.audited += 1

    def emit(
        self, op_type: OpType, entity_id: str, payload: BaseModel, base_version: int = 0
    ) -> EmittedOperation:
        """Write the mutation's outbox operation: ``payload`` is the catalogue's model for
        ``op_type`` (:class:`WrongPayload` otherwise), turned into its wire form by
        :func:`wire_payload`, sealed, and proved when privileged (over the wire form)."""
        if self.op_count and not self.bulk:
            raise IncompleteMutation("a mutation writes exactly one outbox operation")
        wire = wire_payload(op_type, payload)
        self.device.op_seq += 1
        row = {
            "op_id": new_id(), "op_seq": self.device.op_seq, "type": op_type.value,
            "entity_id": entity_id, "actor_id": self.actor.staff_id, "device_id": self.device.id,
            "created_at": self.at, "base_version": base_version,
            "format_version": OPERATION_FORMAT_VERSION, "status": "pending", "attempts": 0,
        }
        # Inserted at once with Core, so the ORM's sealing events do not run: seal the
        # customer's personal data here (refused without the store's cipher, as there).
        sealed = seal_payload(self.session.info.get("cipher"), wire, row["type"])
        row["approval_proof"] = self._proof(row, wire, sealed)
        self.insert(OutboxOperation, (row | {"payload": sealed},))
        op = EmittedOperation(row["op_id"], row["op_seq"], row["type"], entity_id, base_version, wire)
        self.operations.append(op)
        self.op_count += 1
        return op

    def _proof(self, row: dict[str, Any], payload: dict[str, Any],
               sealed: dict[str, Any] | None) -> dict[str, str] | None:
        """The approver's proof of a privileged op, made with the key the approver's typed
        PIN gave (the actor's, who is the approver in every flow of the till); None for
        an ordinary op or when no key is at hand (the server then decides: docs/security.md)."""
        approver = approval_proof.approver_of(row["type"], payload, row["actor_id"])
        signer = self.approver if self.approver is not None \
            and approver == self.approver.staff_id else self.actor
        key = signer.approval_key
        if approver is None or approver != signer.staff_id or key is None:
            return None
        # what the push will send: the sealed payload opened again (sealing drops a
        # customer's empty personal fields)
        sent = open_payload(self.session.info.get("cipher"), sealed) or payload
        message = approval_proof.canonical_bytes(
            op_type=row["type"], entity_id=row["entity_id"], device_id=row["device_id"],
            op_id=row["op_id"], actor_id=row["actor_id"], payload=sent)
        return approval_proof.make_proof(key, approver, message)

    def bulk_emitted(self, count: int) -> None:
        """Count operations a bulk mutation inserted directly (fast path for imports)."""
        if not self.bulk:
            raise IncompleteMutation("only a bulk mutation inserts operations directly")
        self.op_count += count


#: the write transaction that :func:`one_transaction` holds open on this thread, if any
_joined: ContextVar[tuple[Database, Session] | None] = ContextVar("tillsync_one_transaction", default=None)


@contextmanager
def one_transaction(db: Database) -> Iterator[Session]:
    """One write transaction for every :func:`mutation` on ``db`` inside the block: they
    commit together when the block ends, or, on any error, none of them does. Inside an
    enclosing one, it is that one."""
    joined = _joined.get()
    if joined is not None and joined[0] is db:
        yield joined[1]
        return
    with db.write() as session:
        session.connection()  # BEGIN IMMEDIATE: the write lock for the whole block
        token = _joined.set((db, session))
        try:
            yield session
        finally:
            _joined.reset(token)


def _write_session(db: Database) -> AbstractContextManager[Session]:
    """A transaction of its own, or a savepoint in the enclosing :func:`one_transaction`."""
    joined = _joined.get()
    if joined is not None and joined[0] is db:
        return _savepoint(joined[1])
    return db.write()


@contextmanager
def _savepoint(session: Session) -> Iterator[Session]:
    with session.begin_nested():
        yield session


@contextmanager
def mutation(
    db: Database, device_id: str, actor: Actor, action: str, *, bulk: bool = False
) -> Iterator[Mutation]:
    """Open a write transaction for one mutation and check it is complete on the way out
    (inside :func:`one_transaction`, a savepoint of its transaction)."""
    with _write_session(db) as session:
        conn = session.connection()  # BEGIN IMMEDIATE: the write lock, before reading counters
        cur = conn.connection.driver_connection.cursor()
        try:
            device = _load_device(cur, device_id)
            if device is None:
                raise RuntimeError("this terminal has no device row; run set-up first")
            m = Mutation(session=session, device=device, actor=actor, action=str(action), at=utcnow(),
                         bulk=bulk, cursor=cur, dialect=conn.dialect)
            yield m
            if not m.audited:
                raise IncompleteMutation(f"{action} wrote no audit entry")
            if not m.op_count or (m.op_count > 1 and not bulk):
                raise IncompleteMutation(f"{action} wrote no outbox operation")
            session.flush()
            _save_device(cur, device)
        finally:
            cur.close()
