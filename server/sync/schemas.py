"""Bodies of the quarantine and compaction endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

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


class ResubmitIn(BaseModel):
    """Optionally fix the operation before applying it again."""

    payload: dict[str, Any] | None = None
    actor_id: str | None = None


class ResubmitOut(BaseModel):
    quarantine: QuarantineOut
    result: OperationResult


class CompactIn(BaseModel):
    store_id: str
    before_position: int = Field(ge=0)


class CompactOut(BaseModel):
    store_id: str
    horizon: int
