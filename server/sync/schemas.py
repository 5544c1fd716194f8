"""Bodies of the quarantine and compaction endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from sync.protocol import OperationResult


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
