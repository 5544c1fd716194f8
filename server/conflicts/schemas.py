"""Bodies of the conflict endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class ConflictOut(BaseModel):
    id: str
    store_id: str
    entity_type: str
    entity_id: str
    kind: str = Field(description="field_conflict, edit_of_deleted, edit_of_completed, "
                                  "delete_of_completed")
    op_id: str | None
    op_type: str | None
    device_id: str | None
    actor_id: str | None
    fields: dict[str, Any] = Field(description="{field: {base, server, terminal}}")
    status: str
    resolution: dict[str, Any] | None
    resolved_by: str | None
    resolved_at: datetime | None
    created_at: datetime
    version: int


class ResolveIn(BaseModel):
    """``server`` keeps the server's values, ``terminal`` applies the terminal's,
    ``custom`` applies ``value`` (a dict of field -> value, fields of the conflict only)."""

    choice: Literal["server", "terminal", "custom"]
    value: dict[str, Any] | None = None
