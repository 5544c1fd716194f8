"""Bodies of the quarantine and compaction endpoints, and the push protocol versions this
server speaks."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from server.errors import ApiError
from sync.protocol import PROTOCOL_VERSION, OperationResult

#: The ``protocol`` values of POST /sync/push this server reads (a push without the
#: field means 1, as the first tills sent it). Any other is refused, never read as 1.
SUPPORTED_PROTOCOLS: tuple[int, ...] = (PROTOCOL_VERSION,)


def check_protocol(protocol: int) -> None:
    """Refuse a push of a protocol version this server does not speak (a till newer than
    the server): ``400 unsupported_protocol`` naming the versions it speaks, before any
    operation is read, so that nothing is applied under a meaning the till did not mean."""
    if protocol not in SUPPORTED_PROTOCOLS:
        spoken = ", ".join(str(v) for v in SUPPORTED_PROTOCOLS)
        raise ApiError(400, "unsupported_protocol",
                       f"This server speaks sync protocol {spoken}; the push is protocol "
                       f"{protocol}. Update the server, or push with a protocol it speaks.",
                       {"protocol": protocol, "supported": list(SUPPORTED_PROTOCOLS)})


class QuarantineOut(BaseModel):
    id: str
    device_id: str
    store_id: str
    op_id: str
    op_type: str
    operation: dict[str, Any]
    reason: str
    status: str
    result: dict[str, Any] | None = None
    created_at: datetime
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    #: why it was dismissed (status ``dismissed``; None for one dismissed before reasons)
    dismiss_reason: str | None = None


class ResubmitIn(BaseModel):
    """Optionally fix the operation before applying it again."""

    payload: dict[str, Any] | None = None
    actor_id: str | None = None


#: a dismissal's reason: 1-500 characters once the spaces at its ends are dropped
DismissReason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                                 max_length=500)]


class DismissIn(BaseModel):
    """Why the operation is dismissed (kept with who and when, and in the audit entry)."""

    reason: DismissReason


class ResubmitOut(BaseModel):
    quarantine: QuarantineOut
    result: OperationResult


class CompactIn(BaseModel):
    store_id: str
    before_position: int = Field(ge=0)


class CompactOut(BaseModel):
    store_id: str
    horizon: int
