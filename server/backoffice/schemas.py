"""Bodies of the back-office order API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, StrictInt
from pydantic.json_schema import JsonDict

from app.domain.limits import (
    MAX_AMOUNT,
    MAX_CATEGORY,
    MAX_CODE,
    MAX_DECISION_NOTE,
    MAX_INT32,
    MAX_LINES,
    MAX_METHOD,
    MAX_NAME,
    MAX_PPM,
    MAX_QTY_MILLI,
    MAX_REASON,
    MAX_REFERENCE,
)
from sync.payloads import OrderCreate, ProductCreate, RefundLine
from sync.protocol import Uuid

#: An id the caller makes: a UUID in its canonical 36-character form, as the wire's ids.
NewId = Uuid


def _shown(**bounds: int) -> JsonDict:
    """Bounds shown in the OpenAPI schema but checked by the domain rules, which answer
    with the till's wording (422 ``invalid_value``) rather than a generic validation
    error; the schema itself only keeps values to what a column can hold."""
    return dict(bounds)


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
    reason: str = Field(min_length=3, max_length=MAX_REASON)


class OrderCreateIn(OrderCreate):
    """A new order entered in the back office; ``id`` is made by the caller (UUIDv7)."""

    id: NewId
    reference: str | None = Field(  # type: ignore[assignment]
        default=None, max_length=MAX_REFERENCE,
        description="Optional. The server makes the order's reference from its own code "
        "range (GO-ZZ...) and answers it; one sent here must have the GO- shape (422) and "
        "must not be another order's (409 duplicate_reference: the order was most likely "
        "entered already)")


class PaymentIn(BaseModel):
    """A payment in minor units. ``amount`` is positive (the payment rules refuse 0 and
    less with their own words); every number is at most ``MAX_AMOUNT``."""

    id: NewId
    method: str = Field(min_length=1, max_length=MAX_METHOD,
                        description="one of the store's tenders (cash, card, ...)")
    amount: StrictInt = Field(ge=-MAX_AMOUNT, le=MAX_AMOUNT, json_schema_extra=_shown(minimum=1))
    tendered: StrictInt | None = Field(default=None, ge=0, le=MAX_AMOUNT)
    change: StrictInt = Field(default=0, ge=0, le=MAX_AMOUNT)
    installment_id: NewId | None = None
    created_at: datetime | None = None


class RefundIn(BaseModel):
    """A refund: carried out at once by someone allowed refund.approve; from someone who
    may only ask (refund.request), it becomes a pending approval request (HTTP 202)."""

    refund_id: NewId
    lines: list[RefundLine] = Field(default_factory=list, max_length=MAX_LINES)
    amount: StrictInt = Field(ge=0, le=MAX_AMOUNT)
    method: str = Field(default="cash", min_length=1, max_length=MAX_METHOD)
    restock: bool = True
    reason: str = Field(min_length=3, max_length=MAX_REASON)
    without_receipt: bool = Field(
        default=False, description="refunded without the sale's receipt: a till limit by "
        "role (the store's ``refund_without_receipt``); past the caller's limits 403 "
        "``above_limit``, for a refund and for a request for one alike")


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
    note: str | None = Field(default=None, max_length=MAX_DECISION_NOTE)


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
    reason: str | None = Field(default=None, max_length=MAX_REASON)


class ProductCreateIn(ProductCreate):
    """A new product of the organization; ``id`` (UUIDv7) is made by the server if omitted.

    The product rules (app/domain/product_rules.py) judge each value and answer 422
    ``invalid_value`` in the till's words; the bounds shown here are theirs. Only what
    no column could hold (a price past ``MAX_AMOUNT``, text past the column) is refused
    by the schema itself, 422 ``validation_error``."""

    id: NewId | None = None
    sku: str = Field(max_length=4 * MAX_CODE, json_schema_extra=_shown(minLength=1, maxLength=MAX_CODE))
    name: str = Field(max_length=4 * MAX_NAME, json_schema_extra=_shown(minLength=1, maxLength=MAX_NAME))
    category: str | None = Field(default=None, max_length=4 * MAX_CATEGORY,
                                 json_schema_extra=_shown(maxLength=MAX_CATEGORY))
    price: StrictInt = Field(le=MAX_AMOUNT, ge=-MAX_AMOUNT, json_schema_extra=_shown(minimum=0),
                       description="minor units (cents)")
    tax_rate_ppm: StrictInt = Field(ge=-MAX_INT32, le=MAX_INT32,
                              json_schema_extra=_shown(minimum=0, maximum=MAX_PPM),
                              description="parts per million: 200000 is 20 %")
    barcodes: list[str] = Field(default_factory=list, max_length=100)
    reorder_level_milli: StrictInt = Field(default=0, ge=0, le=MAX_QTY_MILLI)
