"""Bodies of the back-office order API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class OrderSummary(BaseModel):
    id: str
    store_id: str
    reference: str
    status: str
    is_offline: bool
    currency: str
    total: int
    paid: int
    refunded: int
    flags: list[str]
    created_at: datetime
    created_by: str
    device_id: str | None
    version: int


class OrderPage(BaseModel):
    items: list[OrderSummary]
    total: int
    limit: int
    offset: int


class AuditOut(BaseModel):
    id: int
    action: str
    actor_id: str | None
    device_id: str | None
    op_id: str | None
    changes: dict[str, Any]
    reason: str | None
    created_at: datetime


class OrderDetail(BaseModel):
    """The order as in the feed (lines, payments, refunds) plus its audit trail."""

    order: dict[str, Any]
    audit: list[AuditOut]


class DeleteIn(BaseModel):
    reason: str = Field(min_length=3, max_length=1000)
