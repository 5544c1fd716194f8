"""What every operation handler gets and returns, and helpers they share."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from app.domain.ids import new_id
from app.domain.permissions import Action, allowed
from server.context import TerminalPrincipal
from server.db.base import utcnow
from server.db.models import AuditEntry, Staff
from server.feed.writer import FeedWriter
from server.webhooks import outbox
from sync.protocol import Operation, OpStatus, OpType, describe_errors

M = TypeVar("M", bound=BaseModel)


class Rejected(Exception):
    """The operation is not allowed or invalid; it goes to quarantine with ``reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Outcome:
    status: OpStatus
    version: int | None = None
    reason: str | None = None
    conflict_id: str | None = None
    flags: list[str] = field(default_factory=list)


@dataclass
class OpContext:
    """An operation being applied inside its own transaction."""

    session: Session
    op: Operation
    terminal: TerminalPrincipal
    actor: Staff
    feed: FeedWriter
    webhook_urls: list[str]
    flags: list[str] = field(default_factory=list)
    #: the payload parsed with its catalogue model, once, by the dispatch (None for an op
    #: applied for a signed-in staff member: the handler parses it, :meth:`payload_as`)
    parsed: BaseModel | None = None
    #: audit entries this op inserted by Core (:meth:`audit_row`), each with its ``id``:
    #: not in the session, so an answer built from what was written finds them here
    written_audit: list[dict[str, Any]] = field(default_factory=list)

    def can(self, action: Action) -> bool:
        return allowed(self.actor.role, action)

    def payload_as(self, model: type[M]) -> M:
        """The op's payload as ``model``: the one the dispatch parsed, else parsed now
        (a Rejected naming the fields at fault)."""
        parsed = self.parsed
        if isinstance(parsed, model):
            return parsed
        parsed = parse_payload(model, self.op.payload)
        self.parsed = parsed
        return parsed

    def require_any(self, actions: tuple[Action, ...]) -> None:
        """The actor may do one of ``actions`` (the catalogue's permission of the op);
        refused in the words of :meth:`require` for the first."""
        for action in actions:
            if self.can(action):
                return
        self.require(actions[0])

    def require(self, action: Action) -> None:
        if not self.can(action):
            raise Rejected(
                f"{self.actor.name} is a {self.actor.role}, and a {self.actor.role} "
                f"may not do {action.value}"
            )

    def emit(self, event_type: str, data: dict[str, Any]) -> None:
        outbox.emit(self.session, self.webhook_urls, self.terminal.org_id, event_type, data)

    def publish(self, entity_type: str, entity_id: str, version: int, data: dict[str, Any],
                *, deleted: bool = False, store_id: str | None = None) -> None:
        """Put an entity's state in the feed, marked as this op's (``store_id``: only that
        store's feed, even from an org-wide writer)."""
        self.feed.append(
            entity_type, entity_id, version, data, deleted=deleted,
            origin_device_id=self.terminal.terminal_id, op_id=self.op.op_id, store_id=store_id,
        )

    def audit(self, entity_type: str, entity_id: str, action: str,
              changes: dict[str, Any] | None = None, reason: str | None = None,
              store_id: str | None = None) -> None:
        """Add the audit entry to the session; its time is the column's default, at
        the flush."""
        self.session.add(AuditEntry(**self._audit_fields(
            entity_type, entity_id, action, changes, reason, store_id)))

    def audit_row(self, entity_type: str, entity_id: str, action: str,
                  changes: dict[str, Any] | None = None, reason: str | None = None,
                  store_id: str | None = None) -> dict[str, Any]:
        """The audit entry :meth:`audit` adds, as a row for a Core insert (every column
        but the id, ``created_at`` now). A handler that inserts it itself records it,
        with the id the database gave it, in :attr:`written_audit`."""
        row = self._audit_fields(entity_type, entity_id, action, changes, reason, store_id)
        row["created_at"] = utcnow()
        return row

    def _audit_fields(self, entity_type: str, entity_id: str, action: str,
                      changes: dict[str, Any] | None, reason: str | None,
                      store_id: str | None) -> dict[str, Any]:
        return {
            "org_id": self.terminal.org_id, "store_id": store_id or self.terminal.store_id,
            "entity_type": entity_type, "entity_id": entity_id, "action": action,
            "actor_id": self.actor.id, "device_id": self.terminal.terminal_id,
            "op_id": self.op.op_id, "changes": jsonable(changes or {}), "reason": reason,
        }


@contextmanager
def staff_op_context(
    session: Session, actor: Staff, org_id: str, store_id: str, webhook_urls: list[str], *,
    op_id_prefix: str, op_type: OpType, entity_id: str, payload: dict[str, Any],
    device_id: str = "", org_wide: bool = False,
) -> Iterator[OpContext]:
    """The context of an operation applied for a signed-in staff member, not a push:
    back-office writes (server/backoffice/ops.py) and POST /conflicts/{id}/resolve.

    One place for what both need to take their locks in a push's order: the feed is a
    deferred writer, and after the block (only if it raised nothing) every other write is
    flushed, then ``assign`` gives the feed entries their positions under the store
    locks, held until the commit. Taking the feed rows before the order or product row
    deadlocks on PostgreSQL with a push of the same entity (tests/server/test_lock_order.py).
    Call it inside the caller's transaction; each caller keeps its own error answers and
    retry (server/db/retry.py): the resolve endpoint answers 409 ``cannot_resolve`` and
    422 ``invalid_value``, not ops.run's, and conflicts does not import the back office.
    ``org_wide`` (products): entries go to every store."""
    feed = FeedWriter.deferred(session, org_id, store_id)
    # built, not validated: its op_id ("bo-<uuid>") and device_id ("") are no terminal's
    op = Operation.model_construct(
        op_id=f"{op_id_prefix}-{new_id()}", op_seq=1, type=op_type, entity_id=entity_id,
        actor_id=actor.id, device_id=device_id, created_at=utcnow(), base_version=0,
        payload=payload,
    )
    principal = TerminalPrincipal(None, org_id, store_id, "")
    yield OpContext(session, op, principal, actor, feed.org_wide() if org_wide else feed,
                    webhook_urls)
    session.flush()  # every row lock before the feed's, as a push
    feed.assign()  # the store feed rows locked until the commit


def parse_payload(model: type[M], payload: dict[str, Any]) -> M:
    """Validate an operation payload; a bad one is rejected with the field names at fault."""
    try:
        return model.model_validate(payload)
    except ValidationError as exc:  # (an id: "should be a UUID", not the pattern)
        problems = describe_errors(exc, whole="payload")
        raise Rejected(f"invalid {model.__name__} payload: {problems}") from exc


def jsonable(value: Any) -> Any:
    """A JSON-safe copy: what ``json.loads(json.dumps(value, default=str))`` gives (a
    datetime becomes its str()), without the round trip through text for plain values."""
    kind = type(value)
    if kind is dict:
        out = {}
        for key, item in value.items():
            if type(key) is not str:
                return _round_trip(value)
            out[key] = jsonable(item)
        return out
    if kind is list or kind is tuple:
        return [jsonable(item) for item in value]
    if value is None or kind is str or kind is int or kind is bool or kind is float:
        return value
    if kind is datetime or kind is date:
        return str(value)
    return _round_trip(value)


def _round_trip(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def same(a: Any, b: Any) -> bool:
    """Equality of JSON values, independent of key order and int/float spelling."""
    return json.dumps(jsonable(a), sort_keys=True) == json.dumps(jsonable(b), sort_keys=True)
