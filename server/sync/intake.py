"""A push's operations as the server takes them in: each valid one, or one it refuses.

``PushRequest`` reads an item that is not a valid :class:`Operation` (an id that is not
a UUID, a number out of range, a 10,000-character ``entity_id``, an unknown ``type``...)
as a :class:`RawOperation`, so one bad op never makes the whole push a 422. Such an op
becomes a :class:`RefusedOperation`: it takes its place in the device's op_seq order
like any other, and is answered ``rejected`` (stored, quarantined, ``last_applied_seq``
advanced) with what is wrong in words, while the valid ops around it apply.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from server.db.base import utcnow
from server.sync.dispatch import internal_error_reason, scrub, unstorable_text
from sync.protocol import Operation, OpType, RawOperation

#: the columns a refused op's values are filed in (processed_ops, quarantine)
TYPE_COLUMN = 40
ENTITY_COLUMN = 80


class RefusedOperation(Operation):
    """An operation the server will not apply, known by its op_id and op_seq only.

    Built with ``model_construct`` (never validated): ``type`` is the text sent (not an
    OpType, so no bulk or product-code path picks it up), ``payload`` is empty, ``raw``
    is the operation as sent (NUL characters replaced) and ``reason`` says why."""

    reason: str = ""
    raw: dict[str, Any] = Field(default_factory=dict)


def _text(value: object, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


def refused(raw: RawOperation) -> RefusedOperation:
    """The refusal of an operation that is not a valid :class:`Operation`."""
    data = scrub(raw.model_dump())  # (its values are as JSON gave them; a lone surrogate
    # would fail mode="json")
    assert isinstance(data, dict)
    reason = scrub(f"invalid operation: {raw.problems()}"[:900])
    return RefusedOperation.model_construct(
        op_id=str(data["op_id"]), op_seq=raw.op_seq, type=_text(data.get("type"), TYPE_COLUMN),
        entity_id=_text(data.get("entity_id"), ENTITY_COLUMN), actor_id="", device_id="",
        created_at=utcnow(), base_version=0, format_version=1, payload={},
        reason=reason, raw=data)


def unstorable(op: Operation, reason: str) -> RefusedOperation:
    """The refusal of an op holding text no column can store (a NUL character, a lone
    surrogate: :func:`unstorable_text` says which), filed with each replaced (in the
    payload, the op's one free part, first: mode="json" cannot encode a lone surrogate)."""
    data = scrub(op.model_copy(update={"payload": scrub(op.payload)}).model_dump(mode="json"))
    assert isinstance(data, dict)
    return RefusedOperation.model_construct(
        op_id=data["op_id"], op_seq=op.op_seq, type=type_name(op),
        entity_id=data["entity_id"][:ENTITY_COLUMN], actor_id="", device_id="",
        created_at=op.created_at, base_version=op.base_version,
        format_version=op.format_version, payload={}, reason=reason, raw=data)


def failed(op: Operation) -> RefusedOperation:
    """The refusal of an op the server failed to write (a bug; the error is logged)."""
    data = op.model_dump(mode="json")
    return RefusedOperation.model_construct(
        op_id=op.op_id, op_seq=op.op_seq, type=type_name(op),
        entity_id=op.entity_id[:ENTITY_COLUMN], actor_id="", device_id="",
        created_at=op.created_at, base_version=op.base_version,
        format_version=op.format_version, payload={}, reason=internal_error_reason(op.op_id),
        raw=data)


def taken_in(items: list[Operation | RawOperation]) -> list[Operation]:
    """The push's operations in op_seq order, the invalid ones (and those holding a NUL
    character or a lone surrogate, which no look-up may carry to PostgreSQL and no answer
    can encode) as refusals."""
    ops = [(item if (why := unstorable_text(item)) is None else unstorable(item, why))
           if isinstance(item, Operation) else refused(item) for item in items]
    ops.sort(key=lambda o: o.op_seq)
    return ops


def type_name(op: Operation) -> str:
    """The op's type as text (a refused op's may be none of OpType)."""
    return op.type.value if isinstance(op.type, OpType) else str(op.type)[:TYPE_COLUMN]


def as_json(op: Operation) -> dict[str, Any]:
    """The op as filed in the quarantine: a refused one as it was sent."""
    if isinstance(op, RefusedOperation):
        return op.raw
    return op.model_dump(mode="json")
