"""The sync wire protocol, shared by the terminal (sync/) and the server (server/).

docs/sync-protocol.md describes it in prose; these pydantic models are the
source of the server's OpenAPI schema. Bump PROTOCOL_VERSION on a breaking change;
operations carry their own ``format_version`` so the server can upgrade old ones.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.json_schema import SkipJsonSchema

from app.domain.limits import MAX_COUNT
from app.domain.operations import OpType
from app.domain.payloads import UUID_PATTERN, Count, Uuid

PROTOCOL_VERSION = 1
OPERATION_FORMAT_VERSION = 1
MAX_BATCH = 500
#: The largest request body the server reads (413 ``too_large`` beyond it). A push of
#: MAX_BATCH large sales is about 2.5 MiB (see docs/sync-protocol.md, section 5).
MAX_BODY_BYTES = 8 * 1024 * 1024
#: The longest ``op_id`` the server can file a result under (an op_id that is not a UUID
#: but no longer than this is answered ``rejected``; a longer one makes the push 422).
MAX_OP_ID = 64



class OpStatus(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"
    REJECTED = "rejected"


class ApprovalProof(BaseModel):
    """The approver's proof on a privileged operation (docs/security.md): who approves
    and ``mac = HMAC-SHA256(argon2id(PIN, approval_salt), canonical bytes of the op)``
    (app/domain/approval_proof.py; docs/client-guide.md says how to make one)."""

    kind: str = Field(max_length=20, description="'offline': made on the till from the "
                      "typed PIN; 'online': issued by POST /sync/approval-proofs")
    by: Uuid = Field(description="The approver's staff id: approved_by, else the actor")
    mac: str = Field(pattern=r"^[0-9a-f]{64}$", description="HMAC-SHA256, 64 hex digits")


class ApprovalProofRequest(BaseModel):
    """``POST /sync/approval-proofs``: the operation a signed-in approver agrees to, as it
    will be pushed (its ``device_id`` names the till that will push it)."""

    type: str = Field(max_length=40)
    op_id: Uuid
    entity_id: Uuid
    actor_id: Uuid
    device_id: Uuid
    payload: dict[str, Any]


class Operation(BaseModel):
    """One intent recorded by a terminal: what a person did, not a row dump.

    Every id is a UUID and every number has its range; the payload's shape per ``type``
    is in ``sync/payloads.py``. The server answers an operation that breaks these (or
    its payload's) `rejected`, naming the field, and applies the rest of the push."""

    op_id: Uuid = Field(description="UUID made on the terminal; the deduplication key")
    op_seq: int = Field(ge=1, le=MAX_COUNT, description="Dense per-device sequence number, from 1")
    type: OpType
    entity_id: Uuid
    actor_id: Uuid
    device_id: Uuid = Field(description="The pushing terminal's device_id (from enrollment)")
    created_at: datetime = Field(description="Terminal wall clock; for receipts only")
    base_version: Count = Field(description="Server version the edit was made against; 0 for new")
    format_version: int = Field(default=OPERATION_FORMAT_VERSION, ge=1, le=MAX_COUNT)
    payload: dict[str, Any]
    approval_proof: ApprovalProof | None = Field(
        default=None, description="The approver's proof on a privileged op (order.delete, "
        "refund.create, approval.decide, conflict.resolve, a product.update of the price); "
        "a missing or wrong one from an approver the server holds a key for is rejected")


class RawOperation(BaseModel):
    """An operation that is not a valid :class:`Operation`, read just enough to answer it:
    its ``op_seq`` places it in the device's sequence and its ``op_id`` files the answer.
    The server rejects (and quarantines) it, naming what is wrong; the push goes on."""

    model_config = ConfigDict(extra="allow")

    op_id: str = Field(max_length=MAX_OP_ID)
    op_seq: int = Field(ge=1, le=MAX_COUNT)

    def problems(self) -> str:
        """What makes this not an :class:`Operation`, in words."""
        try:
            Operation.model_validate(self.model_dump())
        except ValidationError as exc:
            return describe_errors(exc)
        return "the operation is not valid"  # (it validates now: never seen)


def describe_errors(exc: ValidationError, prefix: str = "", whole: str = "operation") -> str:
    """A validation error in words: ``field: what is wrong`` per problem (the value's
    range or length included), never the values themselves."""
    parts = []
    for err in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(p) for p in err["loc"]) or whole
        message = err["msg"]
        ctx = err.get("ctx") or {}
        if err["type"] == "string_pattern_mismatch" and ctx.get("pattern") == UUID_PATTERN:
            message = "should be a UUID (36 characters, like 0193a4d0-7c1e-7b9a-9d0e-5f1f2a3b4c5d)"
        parts.append(f"{prefix}{where}: {message}")
    return "; ".join(parts[:10]) + ("; ..." if len(parts) > 10 else "")


class EncodedOperation:
    """An operation already in its wire form: ``wire`` is its JSON object, as
    ``Operation.model_dump_json`` writes it, made by the terminal straight from its
    outbox row (sync/push.py ``load_pending``), so a push of 500 sales is not decoded
    into models and encoded again. The fields a pusher files the answers by are
    attributes; ``payload`` is decoded from the wire on first use (few answers need it)."""

    __slots__ = ("op_id", "op_seq", "type", "entity_id", "created_at", "wire", "_payload")

    def __init__(self, op_id: str, op_seq: int, type: str, entity_id: str,  # noqa: A002
                 created_at: datetime, wire: bytes) -> None:
        self.op_id, self.op_seq, self.type, self.entity_id = op_id, op_seq, type, entity_id
        self.created_at, self.wire = created_at, wire
        self._payload: Any = _UNREAD

    @property
    def payload(self) -> Any:
        if self._payload is _UNREAD:  # Python's json: orjson makes a float of a huge integer
            self._payload = json.loads(self.wire)["payload"]
        return self._payload

    def __repr__(self) -> str:
        return f"EncodedOperation(op_seq={self.op_seq}, type={self.type!r}, op_id={self.op_id!r})"


_UNREAD = object()


class JournalHead(BaseModel):
    """The till's audit chain head when it pushed: its last entry's seq and hash
    (docs/journal.md). The server records it in its own journal."""

    seq: int = Field(ge=0, le=2**62)
    hash: str = Field(pattern="^[0-9a-f]{64}$")


class PushRequest(BaseModel):
    """``POST /sync/push``: at most 500 operations. An item that is not a valid Operation
    but has an ``op_id`` string (at most 64 characters) and an ``op_seq`` is answered
    ``rejected`` on its own, naming what is wrong; without those two the push is 422."""

    protocol: int = Field(default=PROTOCOL_VERSION, ge=1, le=MAX_COUNT)
    operations: list[Annotated[Operation | SkipJsonSchema[RawOperation],
                               Field(union_mode="left_to_right")]] = Field(max_length=MAX_BATCH)
    oldest_pending_age_s: float | None = Field(
        default=None, ge=0, le=1e9,
        description="Seconds since the oldest operation the terminal has not synced yet was "
        "recorded (its sync lag, shown on /metrics); older terminals send none")
    journal_head: JournalHead | None = Field(
        default=None, description="The till's audit chain head, recorded in the server's "
        "journal (docs/journal.md); older terminals send none")


class OperationResult(BaseModel):
    op_id: str
    op_seq: int
    status: OpStatus
    entity_id: str
    version: int | None = Field(default=None, description="New server version when applied")
    reason: str | None = Field(default=None, description="Why, for conflict and rejected")
    conflict_id: str | None = None
    flags: list[str] = Field(default_factory=list, description="e.g. price_changed, negative_stock")


class PushResponse(BaseModel):
    results: list[OperationResult]
    last_applied_seq: int = Field(description="Highest op_seq of this device applied so far")
    gap_from: int | None = Field(default=None, description="Set when ops after a missing op_seq were held back")
    server_time: datetime


class Change(BaseModel):
    """One entry of a store's change feed: the entity's state after a change."""

    position: int
    entity_type: str
    entity_id: str
    version: int
    deleted: bool = False
    data: dict[str, Any]
    origin_device_id: str | None = None
    op_id: str | None = None


class PullResponse(BaseModel):
    changes: list[Change]
    cursor: int = Field(description="Position to pass back as ?after= on the next pull")
    has_more: bool
    server_time: datetime
    head: int | None = Field(
        default=None,
        description="Latest position of the store's feed when this page was read "
        "(for first-sync progress: cursor / head); None from older servers",
    )
    max_role: str | None = Field(
        default=None,
        description="The pulling terminal's role ceiling now (an admin may change it: "
        "PATCH /terminals/{id}); the till refuses sign-ins above it. None from older servers",
    )
    device_seq: int | None = Field(
        default=None,
        description="The pulling terminal's last op_seq the server applied (its "
        "last_applied_seq): a till whose acknowledged ops go further knows the server was "
        "restored and resends them; one behind it was restored itself "
        "(GET /sync/position). None from older servers",
    )


_CHANGE_KEYS = frozenset(Change.model_fields)
_CHANGE_FIELDS_SET = frozenset(Change.model_fields)
_set = object.__setattr__


def _checked_change(value: Any) -> Change:
    """A change of a pull page read by orjson: one with exactly the fields, each of its
    exact type, as the server sends it, is made without pydantic's per-field work (what
    ``model_construct`` sets, minus its loop); anything else is validated as before."""
    if (type(value) is dict and value.keys() == _CHANGE_KEYS
            and type(value["position"]) is int and type(value["entity_type"]) is str
            and type(value["entity_id"]) is str and type(value["version"]) is int
            and type(value["deleted"]) is bool and type(value["data"]) is dict
            and (value["origin_device_id"] is None or type(value["origin_device_id"]) is str)
            and (value["op_id"] is None or type(value["op_id"]) is str) and _FAST):
        change = Change.__new__(Change)
        _set(change, "__dict__", value)
        _set(change, "__pydantic_fields_set__", _CHANGE_FIELDS_SET)
        _set(change, "__pydantic_extra__", None)
        _set(change, "__pydantic_private__", None)
        return change
    return Change.model_validate(value)


def parse_pull_page(body: bytes) -> PullResponse:
    """A ``GET /sync/pull`` answer as the model. Read by orjson and its changes made by
    :func:`_checked_change`: pydantic-core's ``model_validate_json`` took ~2.3x orjson's
    time, on the till's event loop, holding the interpreter lock while the page before
    was being applied (a 5000-change page, ~40 ms). Raises ``ValidationError`` as
    ``PullResponse.model_validate_json`` does (``json_invalid`` for a body that is not JSON)."""
    try:
        raw = orjson.loads(body)
    except orjson.JSONDecodeError:
        return PullResponse.model_validate_json(body)  # its own error, or JSON orjson refuses
    if type(raw) is dict and type(raw.get("changes")) is list:
        raw = {**raw, "changes": [_checked_change(c) for c in raw["changes"]]}
    return PullResponse.model_validate(raw)


def _fast_matches() -> bool:
    """Whether a change made the fast way equals the validated one (else the fast way is
    off: a pydantic that keeps its state differently)."""
    sample = {"position": 7, "entity_type": "product", "entity_id": "p", "version": 2,
              "deleted": False, "data": {"sku": "A"}, "origin_device_id": None, "op_id": "o"}
    try:
        made = _checked_change(dict(sample))
        return bool(made == Change.model_validate(sample)
                    and made.model_dump() == sample and made.model_fields_set == _CHANGE_KEYS)
    except Exception:  # noqa: BLE001
        return False


_FAST = True
_FAST = _fast_matches()


class SeqOp(BaseModel):
    """One op_seq of a device and the op the server applied under it."""

    op_seq: int
    op_id: str


class DevicePosition(BaseModel):
    """``GET /sync/position``: where the server stands for the asking terminal, so a till
    restored from a backup, or facing a restored server, can line itself up
    (docs/backup-restore.md)."""

    last_applied_seq: int = Field(description="The device's highest op_seq applied so far")
    last_reference: str | None = Field(
        default=None, description="The highest order reference (GO-<device code><counter>) "
        "the server holds from this device; None before its first sale")
    ops: list[SeqOp] = Field(
        default_factory=list, description="With ?after=N: the op_ids the server applied under "
        "op_seq N+1, N+2, ... (at most ?limit), to tell the till's own ops from others")


class SnapshotRequired(BaseModel):
    """Answer (HTTP 410) when a cursor is older than the compaction horizon."""

    error: str = "cursor_expired"
    horizon: int
    message: str


class SnapshotResponse(BaseModel):
    """``GET /sync/snapshot``: one page of the store's full current state as changes, and
    the cursor to continue pulling from (``?after=cursor``) once the last page is applied.

    Every change has ``position == cursor``, and every page of one snapshot has the same
    cursor. While ``has_more`` is true, ask for the next page with
    ``?page_token=<next_page_token>``. Answers of servers before paging have neither
    field: they are the whole state in one page (``has_more`` false)."""

    cursor: int = Field(description="Feed position read when the snapshot started (first "
                        "page); pull from it (?after=cursor) after the last page")
    changes: list[Change]
    server_time: datetime
    has_more: bool = Field(default=False, description="True: more pages follow; ask for "
                           "?page_token=next_page_token")
    next_page_token: str | None = Field(
        default=None, description="Opaque; pass back unchanged as ?page_token= for the next "
        "page. None on the last page")
    total: int | None = Field(
        default=None, description="Number of changes in the whole snapshot, counted when it "
        "started (for a progress bar; it may differ slightly if data changes while paging). "
        "None when the server cannot tell")


class ErrorBody(BaseModel):
    code: str
    message: str
    request_id: str
    details: Any = None


class ErrorEnvelope(BaseModel):
    """The body of every server error: ``{"error": {code, message, request_id, details}}``.

    HTTP 410 from ``GET /sync/pull`` has code ``cursor_expired`` and details
    ``{"horizon": N}``; ``snapshot_required_from_envelope`` reads it.
    """

    error: ErrorBody


def snapshot_required_from_envelope(body: dict[str, Any]) -> SnapshotRequired:
    """Read a 410 error envelope of ``GET /sync/pull`` as a SnapshotRequired."""
    err = body.get("error") if isinstance(body.get("error"), dict) else body
    details = err.get("details") or {}
    return SnapshotRequired(
        error=str(err.get("code", "cursor_expired")),
        horizon=int(details.get("horizon", 0)),
        message=str(err.get("message", "")),
    )
