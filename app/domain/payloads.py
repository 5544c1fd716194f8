"""Payload shapes of each operation type (the ``payload`` of an Operation), declared once.

The till's services build payloads through these models, the server reads them with
the same models, and /openapi.json publishes them (the catalogue of operation types,
app/domain/operations.py, names each type's model). Amounts are integer minor units;
quantities are thousandths (qty_milli); rates are parts per million. Field edits carry
``{"field": {"base": old, "value": new}}`` so the server can tell a concurrent change of
the same field (conflict) from a change of another field (merge).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, Strict

from app.domain.limits import (
    ID_LENGTH,
    MAX_AMOUNT,
    MAX_CATEGORY,
    MAX_CODE,
    MAX_COUNT,
    MAX_CURRENCY,
    MAX_DECISION_NOTE,
    MAX_DENOMINATIONS,
    MAX_EMAIL,
    MAX_INSTALLMENTS,
    MAX_LINES,
    MAX_METHOD,
    MAX_MOVEMENT_REFERENCE,
    MAX_NAME,
    MAX_NOTE,
    MAX_PHONE,
    MAX_PIECES,
    MAX_PPM,
    MAX_QTY_MILLI,
    MAX_REASON,
    MAX_REFERENCE,
)
from app.domain.stock_rules import MAX_REVIEW_KEY

#: an on-hand quantity (a sum of movements), in thousandths
MAX_ON_HAND_MILLI = 10**15

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
#: An id: a UUID in its canonical 36-character form (the terminal makes UUIDv7s). Kept a
#: ``str`` on the wire; checked by pydantic-core (length, then the pattern).
Uuid = Annotated[str, Field(max_length=ID_LENGTH, pattern=UUID_PATTERN,
                            json_schema_extra={"format": "uuid"})]
#: A sequence number, a version, a position: fits a 32-bit column.
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]

# The ranges of the operation envelope (sync/protocol.py ``Operation``), for payloads (app/domain/limits.py).
# Money's sign is the domain rules' to judge (with the till's wording); the range keeps
# every amount inside its column. Strict: a JSON integer only (not true, "100" or 1.0),
# as the schema says; a till sends ints.
Money = Annotated[int, Strict(), Field(ge=-MAX_AMOUNT, le=MAX_AMOUNT)]
Price = Annotated[int, Strict(), Field(ge=0, le=MAX_AMOUNT)]
Qty = Annotated[int, Strict(), Field(ge=1, le=MAX_QTY_MILLI, description="thousandths, more than 0")]
QtyDelta = Annotated[int, Strict(), Field(ge=-MAX_QTY_MILLI, le=MAX_QTY_MILLI)]
Ppm = Annotated[int, Strict(), Field(ge=0, le=MAX_PPM, description="parts per million, 0 to 100 %")]
Code = Annotated[str, Field(max_length=MAX_CODE)]
Name = Annotated[str, Field(max_length=MAX_NAME)]
Reason = Annotated[str, Field(max_length=MAX_REASON)]
Note = Annotated[str, Field(max_length=MAX_NOTE)]
Method = Annotated[str, Field(max_length=MAX_METHOD)]
#: field names of an edit (order.update, product.update)
FieldName = Annotated[str, Field(max_length=MAX_CODE)]
MAX_FIELDS = 50


class CustomerData(BaseModel):
    id: Uuid
    name: Name | None = None
    phone: str | None = Field(default=None, max_length=MAX_PHONE)
    email: str | None = Field(default=None, max_length=MAX_EMAIL)


class OrderLineData(BaseModel):
    id: Uuid
    product_id: Uuid | None = Field(description="None for an item unknown to the catalog")
    sku: Code | None = None
    name: Name
    barcode: Code | None = None
    unit_price: Money
    qty_milli: Qty
    tax_rate_ppm: Ppm
    discount_percent_ppm: Ppm = 0
    discount_amount: Money = 0
    gross: Money
    net: Money
    tax: Money
    total: Money


class PaymentData(BaseModel):
    id: Uuid
    order_id: Uuid
    method: Method
    amount: Money
    tendered: Money
    change: Money = 0
    installment_id: Uuid | None = None
    created_at: datetime


class InstallmentData(BaseModel):
    id: Uuid
    number: int = Field(ge=1, le=MAX_INSTALLMENTS)
    due_date: date
    amount: Money


class PriceOverride(BaseModel):
    """A line sold at another price than the catalogue's (a till limit: app/domain/till_limits.py)."""

    line_id: Uuid
    list_price: Price = Field(description="the catalogue's price the line's unit_price replaced")


class OrderCreate(BaseModel):
    reference: str = Field(max_length=MAX_REFERENCE)
    store_id: Uuid
    currency: str = Field(max_length=MAX_CURRENCY)
    tax_inclusive: bool
    is_offline: bool = True
    customer: CustomerData | None = None
    lines: list[OrderLineData] = Field(max_length=MAX_LINES)
    order_discount_percent_ppm: Ppm = 0
    order_discount_amount: Money = 0
    subtotal: Money
    discount: Money
    tax: Money
    total: Money
    payments: list[PaymentData] = Field(default_factory=list, max_length=MAX_LINES)
    installments: list[InstallmentData] = Field(default_factory=list,
                                                max_length=MAX_INSTALLMENTS)
    created_at: datetime
    note: Note | None = None
    # till limits (issue 14); absent from a till older than them
    price_overrides: list[PriceOverride] = Field(default_factory=list, max_length=MAX_LINES)
    approved_by: Uuid | None = Field(
        default=None, description="the manager who approved discounts or price overrides "
        "beyond the actor's till limits (the op is then privileged: it carries their proof)")


class FieldEdit(BaseModel):
    base: Any = None
    value: Any = None


class EntityUpdate(BaseModel):
    """order.update, product.update: per-field base and new value."""

    fields: dict[FieldName, FieldEdit] = Field(max_length=MAX_FIELDS)
    reason: Reason | None = None


class OrderDelete(BaseModel):
    reason: Reason
    approved_by: Uuid | None = None
    approval_id: Uuid | None = None
    requested_by: Uuid | None = Field(default=None,
                                      description="who asked for the deletion (for the record)")


class RefundLine(BaseModel):
    line_id: Uuid
    qty_milli: Qty
    amount: Money


class RefundCreate(BaseModel):
    refund_id: Uuid
    order_id: Uuid
    lines: list[RefundLine] = Field(max_length=MAX_LINES)
    amount: Money
    method: Method
    restock: bool
    reason: Reason
    approved_by: Uuid | None = None
    created_at: datetime
    approval_id: Uuid | None = None
    without_receipt: bool = Field(default=False, description="refunded without the sale's "
                                  "receipt (a till limit by role: app/domain/till_limits.py)")


class StockAdjust(BaseModel):
    movement_id: Uuid
    product_id: Uuid
    kind: str = Field(max_length=20, description="receive, adjust, count")
    qty_delta_milli: QtyDelta = Field(description="may be negative (an adjustment, a count)")
    reason: Reason | None = None
    reference: str | None = Field(default=None, max_length=MAX_MOVEMENT_REFERENCE)
    created_at: datetime
    # An exact count (kind "count" with counted_milli): the absolute quantity counted at
    # created_at (the moment it was counted). The server writes the movement that makes
    # its ledger up to that moment equal the count (qty_delta_milli is what the till
    # expected to move). Without counted_milli a count is a plain delta (older tills).
    counted_milli: int | None = Field(default=None, ge=0, le=MAX_QTY_MILLI,
                                      description="an exact count: the quantity counted")
    count_id: Uuid | None = Field(default=None,
                                  description="the count session this line belongs to")


class StockAccept(BaseModel):
    """The stock clerk accepts an item of the reconciliation list as it stands
    (app/domain/stock_rules.py ``review_key``; docs/sync-protocol.md, "Stock counts")."""

    review_id: Uuid = Field(description="the acceptance's id (= entity_id)")
    key: str = Field(min_length=1, max_length=MAX_REVIEW_KEY,
                     description="the item: negative:<product id>:<on hand milli>, "
                     "count:<movement id> or compensation:<movement id>")
    kind: Literal["negative", "count", "compensation"]
    product_id: Uuid
    on_hand_milli: int = Field(ge=-MAX_ON_HAND_MILLI, le=MAX_ON_HAND_MILLI,
                               description="the product's on hand at the till when accepted")
    moved_milli: QtyDelta = Field(default=0, description="what the count or compensation moved")
    note: Reason | None = Field(default=None, description="why it is right as it stands")
    accepted_at: datetime


class ProductCreate(BaseModel):
    sku: Code
    name: Name
    category: str | None = Field(default=None, max_length=MAX_CATEGORY)
    price: Price
    tax_rate_ppm: Ppm
    barcodes: list[Code] = Field(default_factory=list, max_length=MAX_FIELDS)
    active: bool = True
    stock_tracked: bool = True
    reorder_level_milli: QtyDelta = 0
    sold_by_weight: bool = False


class ApprovalRequest(BaseModel):
    """approval.request (entity_id = approval_id): a cashier asks to delete or refund."""

    approval_id: Uuid
    kind: str = Field(max_length=20, description="delete or refund")
    order_id: Uuid
    reason: Reason
    details: dict[str, Any] = Field(default_factory=dict,
                                    description="refund: lines, amount, method, restock")
    requested_at: datetime


class ApprovalDecide(BaseModel):
    """approval.decide (entity_id = approval_id). The terminal sends ``approved: false``
    here; an approval is carried out by ``order.delete`` / ``refund.create`` with
    ``approval_id``, which marks it approved on the server."""

    approval_id: Uuid
    approved: bool
    note: Annotated[str, Field(max_length=MAX_DECISION_NOTE)] | None = None
    decided_at: datetime


class CustomerUpsert(BaseModel):
    """customer.upsert (entity_id = customer id); stored sealed on the server."""

    name: Name | None = None
    phone: str | None = Field(default=None, max_length=MAX_PHONE)
    email: str | None = Field(default=None, max_length=MAX_EMAIL)


class ConflictResolve(BaseModel):
    """conflict.resolve (entity_id = conflict id): ``server`` keeps the server's values,
    ``terminal`` applies the terminal's, ``custom`` applies ``value`` (a dict of field ->
    value, fields of the conflict only)."""

    conflict_id: str
    choice: Literal["server", "terminal", "custom"]
    value: dict[str, Any] | None = None


#: a note or coin's value in minor units (a key of a count by denomination)
Denomination = Annotated[int, Field(ge=1, le=MAX_AMOUNT)]
#: how many notes or coins of one denomination were counted
Pieces = Annotated[int, Field(ge=0, le=MAX_PIECES)]


class ShiftOpen(BaseModel):
    """A till's shift opened with the float put in its drawer (entity_id: the shift id)."""

    shift_id: Uuid
    opened_at: datetime
    opening_float: Price
    float_counted: dict[Denomination, Pieces] | None = Field(
        default=None, max_length=MAX_DENOMINATIONS,
        description="the float counted by note and coin: {denomination_minor: count}")


class ShiftClose(BaseModel):
    """A till's shift closed after counting its drawer (entity_id: the shift id)."""

    shift_id: Uuid
    closed_at: datetime
    counted_cash: Price
    expected_cash: Money = Field(description="the cash the till expected in its drawer")
    over_short: Money = Field(description="counted_cash - expected_cash")
    reason: Reason | None = None
    # the Z report (issue 14); absent from a till older than it
    z_number: Annotated[int, Field(ge=1, le=MAX_COUNT)] | None = Field(
        default=None, description="the till's Z number: 1, 2, 3... gap-free, never reused")
    counted_by_denomination: dict[Denomination, Pieces] | None = Field(
        default=None, max_length=MAX_DENOMINATIONS,
        description="the drawer counted by note and coin: {denomination_minor: count}")
    card_batch_total: Price | None = Field(
        default=None, description="the card terminal's batch total, typed in at the close")
    closed_by: Uuid | None = Field(
        default=None, description="who counted and closed (the actor when not named)")
    approved_by: Uuid | None = Field(
        default=None, description="the manager who approved an over/short beyond the "
        "store's threshold (the op is then privileged: it carries their proof)")
    report: dict[str, Any] | None = Field(
        default=None, description="the Z report's figures at the close (ZReport.as_dict)")


class CashMove(BaseModel):
    """Cash into or out of a shift's drawer without a sale (entity_id: the movement id):
    ``pay_in``, ``pay_out``, ``drop`` (to the safe) with an amount, or ``no_sale`` (the
    drawer opened without a sale, amount 0)."""

    movement_id: Uuid
    shift_id: Uuid
    kind: Literal["pay_in", "pay_out", "drop", "no_sale"]
    amount: Price
    reason: Reason | None = None
    created_at: datetime
    approved_by: Uuid | None = Field(
        default=None, description="a no-sale beyond the actor's till limits: the manager who "
        "allowed it (the op is then privileged: it carries their proof)")
