"""Bodies of the back-office order API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from sync.payloads import OrderCreate, ProductCreate, RefundLine


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


class OrderCreateIn(OrderCreate):
    """A new order entered in the back office; ``id`` is made by the caller (UUIDv7)."""

    id: str = Field(min_length=1, max_length=36)


class PaymentIn(BaseModel):
    id: str = Field(min_length=1, max_length=36)
    method: str = Field(min_length=1, max_length=30)
    amount: int
    tendered: int | None = None
    change: int = 0
    installment_id: str | None = None
    created_at: datetime | None = None


class RefundIn(BaseModel):
    """A refund: carried out at once by someone allowed refund.approve; from someone who
    may only ask (refund.request), it becomes a pending approval request (HTTP 202)."""

    refund_id: str = Field(min_length=1, max_length=36)
    lines: list[RefundLine] = Field(default_factory=list)
    amount: int = Field(ge=0)
    method: str = Field(default="cash", min_length=1, max_length=30)
    restock: bool = True
    reason: str = Field(min_length=3, max_length=1000)


class RefundOut(BaseModel):
    status: str = Field(description="refunded, or pending_approval")
    order: dict[str, Any] | None = None
    approval: dict[str, Any] | None = None
    flags: list[str] = Field(default_factory=list)


class ApprovalOut(BaseModel):
    id: str
    store_id: str
    kind: str
    order_id: str
    status: str
    reason: str
    details: dict[str, Any]
    requested_by: str
    requested_at: datetime
    device_id: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None
    version: int


class DecideIn(BaseModel):
    approved: bool
    note: str | None = Field(default=None, max_length=1000)


class DecideOut(BaseModel):
    approval: ApprovalOut
    order: dict[str, Any] | None = None
    flags: list[str] = Field(default_factory=list)


class ProductOut(BaseModel):
    """A product as terminals get it in the feed."""

    id: str
    org_id: str
    sku: str
    name: str
    category: str | None
    price: int
    tax_rate_ppm: int
    barcodes: list[str]
    active: bool
    stock_tracked: bool
    reorder_level_milli: int
    sold_by_weight: bool
    deleted: bool
    version: int
    updated_at: str | None


class ProductPage(BaseModel):
    items: list[ProductOut]
    total: int
    limit: int
    offset: int


class ProductDeleteIn(BaseModel):
    reason: str | None = Field(default=None, max_length=1000)


class ProductCreateIn(ProductCreate):
    """A new product of the organization; ``id`` (UUIDv7) is made by the server if omitted."""

    id: str | None = Field(default=None, min_length=1, max_length=36)
