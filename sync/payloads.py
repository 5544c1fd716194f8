"""The payload models of sync operations, for the wire: declared once in the core
(app/domain/payloads.py, named per type by app/domain/operations.py) and re-exported
here so the terminal's sync and the server read the same classes."""

from __future__ import annotations

from app.domain.payloads import (
    ApprovalDecide,
    ApprovalRequest,
    Code,
    ConflictResolve,
    CustomerData,
    CustomerUpsert,
    EntityUpdate,
    FieldEdit,
    FieldName,
    InstallmentData,
    Method,
    Money,
    Name,
    Note,
    OrderCreate,
    OrderDelete,
    OrderLineData,
    PaymentData,
    Ppm,
    Price,
    ProductCreate,
    Qty,
    QtyDelta,
    Reason,
    RefundCreate,
    RefundLine,
    StockAdjust,
)

__all__ = [
    "ApprovalDecide", "ApprovalRequest", "Code", "ConflictResolve", "CustomerData",
    "CustomerUpsert", "EntityUpdate", "FieldEdit", "FieldName", "InstallmentData", "Method",
    "Money", "Name", "Note", "OrderCreate", "OrderDelete", "OrderLineData", "PaymentData",
    "Ppm", "Price", "ProductCreate", "Qty", "QtyDelta", "Reason", "RefundCreate", "RefundLine",
    "StockAdjust",
]
