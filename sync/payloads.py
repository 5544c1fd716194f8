"""Payload shapes of each operation type (the ``payload`` of an Operation).

Amounts are integer minor units; quantities are thousandths (qty_milli); rates are
parts per million. Field edits carry ``{"field": {"base": old, "value": new}}`` so
the server can tell a concurrent change of the same field (conflict) from a change
of another field (merge).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field


class CustomerData(BaseModel):
    id: str
    name: str | None = None
    phone: str | None = None
    email: str | None = None


class OrderLineData(BaseModel):
    id: str
    product_id: str | None = Field(description="None for an item unknown to the catalog")
    sku: str | None = None
    name: str
    barcode: str | None = None
    unit_price: int
    qty_milli: int
    tax_rate_ppm: int
    discount_percent_ppm: int = 0
    discount_amount: int = 0
    gross: int
    net: int
    tax: int
    total: int


class PaymentData(BaseModel):
    id: str
    order_id: str
    method: str
    amount: int
    tendered: int
    change: int = 0
    installment_id: str | None = None
    created_at: datetime


class InstallmentData(BaseModel):
    id: str
    number: int
    due_date: date
    amount: int


class OrderCreate(BaseModel):
    reference: str
    store_id: str
    currency: str
    tax_inclusive: bool
    is_offline: bool = True
    customer: CustomerData | None = None
    lines: list[OrderLineData]
    order_discount_percent_ppm: int = 0
    order_discount_amount: int = 0
    subtotal: int
    discount: int
    tax: int
    total: int
    payments: list[PaymentData] = Field(default_factory=list)
    installments: list[InstallmentData] = Field(default_factory=list)
    created_at: datetime
    note: str | None = None


class FieldEdit(BaseModel):
    base: Any = None
    value: Any = None


class EntityUpdate(BaseModel):
    """order.update, product.update: per-field base and new value."""

    fields: dict[str, FieldEdit]
    reason: str | None = None


class OrderDelete(BaseModel):
    reason: str
    approved_by: str | None = None
    approval_id: str | None = None


class RefundLine(BaseModel):
    line_id: str
    qty_milli: int
    amount: int


class RefundCreate(BaseModel):
    refund_id: str
    order_id: str
    lines: list[RefundLine]
    amount: int
    method: str
    restock: bool
    reason: str
    approved_by: str | None = None
    created_at: datetime
    approval_id: str | None = None


class StockAdjust(BaseModel):
    movement_id: str
    product_id: str
    kind: str  # receive, adjust, count
    qty_delta_milli: int
    reason: str | None = None
    reference: str | None = None
    created_at: datetime


class ProductCreate(BaseModel):
    sku: str
    name: str
    category: str | None = None
    price: int
    tax_rate_ppm: int
    barcodes: list[str] = Field(default_factory=list)
    active: bool = True
    stock_tracked: bool = True
    reorder_level_milli: int = 0
    sold_by_weight: bool = False


class ApprovalRequest(BaseModel):
    """approval.request (entity_id = approval_id): a cashier asks to delete or refund."""

    approval_id: str
    kind: str = Field(description="delete or refund")
    order_id: str
    reason: str
    details: dict[str, Any] = Field(default_factory=dict,
                                    description="refund: lines, amount, method, restock")
    requested_at: datetime


class ApprovalDecide(BaseModel):
    """approval.decide (entity_id = approval_id). The terminal sends ``approved: false``
    here; an approval is carried out by ``order.delete`` / ``refund.create`` with
    ``approval_id``, which marks it approved on the server."""

    approval_id: str
    approved: bool
    note: str | None = None
    decided_at: datetime


class CustomerUpsert(BaseModel):
    """customer.upsert (entity_id = customer id); stored sealed on the server."""

    name: str | None = None
    phone: str | None = None
    email: str | None = None
