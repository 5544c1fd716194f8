"""The state of each entity in the change feed and snapshots, declared once.

A change (sync/protocol.py ``Change``) carries the whole state of one entity after a
change, as ``data``; its ``entity_type`` picks the model here (:data:`STATE_MODELS`).
The server builds these states (server/feed/serialize.py), the terminal applies them
(sync/apply*.py), /openapi.json publishes them, and the tests check every state the
feed carries against them (tests/server/test_feed_states.py). Clients must ignore keys
they do not know: a newer server may add some.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.domain.operations import Entity


class State(BaseModel):
    model_config = ConfigDict(extra="allow")


class OrderLineState(State):
    id: str
    product_id: str | None
    sku: str | None
    name: str
    barcode: str | None
    unit_price: int
    qty_milli: int
    tax_rate_ppm: int
    discount_percent_ppm: int
    discount_amount: int
    gross: int
    net: int
    tax: int
    total: int


class PaymentState(State):
    id: str
    order_id: str
    method: str
    amount: int
    tendered: int
    change: int
    installment_id: str | None
    created_at: datetime | None
    actor_id: str | None
    device_id: str | None


class RefundState(State):
    id: str
    order_id: str
    amount: int
    method: str
    restock: bool
    reason: str
    lines: list[dict[str, Any]]
    approved_by: str | None
    approval_id: str | None = Field(description="the approval this refund carried out")
    actor_id: str | None
    created_at: datetime | None


class InstallmentState(State):
    id: str
    number: int
    due_date: str
    amount: int


class OrderState(State):
    """entity_type ``order``: an order with its lines, payments and refunds."""

    id: str
    org_id: str
    store_id: str
    reference: str
    status: str = Field(description="open, partially_paid, paid, refunded, deleted, ...")
    currency: str
    tax_inclusive: bool
    is_offline: bool
    customer: dict[str, Any] | None = Field(description="name, phone, email; sealed at rest")
    order_discount_percent_ppm: int
    order_discount_amount: int
    subtotal: int
    discount: int
    tax: int
    total: int
    paid: int
    refunded: int
    note: str | None
    flags: list[str] = Field(description="e.g. price_changed, duplicate_reference")
    installments: list[dict[str, Any]]
    created_at: datetime | None
    created_by: str
    device_id: str | None
    deleted_reason: str | None
    deleted_by: str | None
    version: int
    updated_at: datetime | None
    lines: list[OrderLineState]
    payments: list[PaymentState]
    refunds: list[RefundState]


class ProductState(State):
    """entity_type ``product`` (organization-wide): a catalog item; ``deleted`` ones are
    kept, inactive, so old orders still name them."""

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
    updated_at: datetime | None


class StaffState(State):
    """entity_type ``staff`` (organization-wide): no password hash; the argon2 PIN hash
    for offline sign-in, empty for staff above the pulling till's role ceiling."""

    id: str
    org_id: str
    name: str
    code: str
    role: str
    active: bool
    pin_hash: str | None
    approval_salt: str | None = Field(
        default=None, description="salt of the PIN-derived key that proves an approval "
        "(docs/security.md, approver proof)")
    version: int
    updated_at: datetime | None


class StockMovementState(State):
    """entity_type ``stock_movement``: one movement and the level it left."""

    id: str
    store_id: str
    product_id: str
    kind: str = Field(description="sale, refund, receive, adjust, count, ...")
    qty_delta_milli: int
    qty_on_hand_milli: int
    reason: str | None
    reference: str | None
    actor_id: str | None
    device_id: str | None
    created_at: datetime | None


class StockLevelState(State):
    """entity_type ``stock_level`` (snapshots): a product's level in a store."""

    store_id: str
    product_id: str
    qty_on_hand_milli: int


class ConflictState(State):
    """entity_type ``conflict``: an operation the server could not merge, for a person."""

    id: str
    store_id: str | None
    entity_type: str
    entity_id: str
    kind: str
    op_id: str | None
    op_type: str | None
    device_id: str | None
    actor_id: str | None
    fields: dict[str, Any] = Field(description="{field: {base, server, terminal}}")
    status: str
    resolution: dict[str, Any] | None
    resolved_by: str | None
    resolved_at: datetime | None
    created_at: datetime | None
    version: int


class StoreState(State):
    """entity_type ``store``: the settings a till prints and sells with."""

    id: str
    org_id: str
    name: str
    address: str | None
    tax_id: str | None
    currency: str
    locale: str | None
    tax_inclusive: bool
    receipt_footer: str | None
    version: int
    till_limits: dict[str, Any] | None = None  # app/domain/till_limits.py; None: defaults
    recount_share_ppm: int | None = Field(
        default=None, description="a count that moved stock by more than this share of what "
        "the books said is listed for a recount (parts per million; 250000 = 25 %)")


class ApprovalState(State):
    """entity_type ``approval``: a cashier's request for a deletion or refund, and its
    decision."""

    id: str
    store_id: str | None
    kind: str
    order_id: str | None
    status: str
    reason: str | None
    details: dict[str, Any] | None
    requested_by: str | None
    requested_at: datetime | None
    device_id: str | None
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None
    version: int


#: The state model of each ``entity_type`` the feed carries.
class ShiftState(State):
    """entity_type ``shift``: a till's shift, open or closed (amounts in minor units)."""

    id: str
    store_id: str
    terminal_id: str
    status: str = Field(description="open or closed")
    opened_by: str
    opened_at: datetime | None
    opening_float: int
    float_counted: dict[str, int] | None = Field(
        description="the float by note and coin: {denomination_minor: count}")
    closed_by: str | None
    closed_at: datetime | None
    counted_cash: int | None
    expected_cash: int | None
    over_short: int | None
    close_reason: str | None
    version: int
    z_number: int | None = Field(default=None, description="the till's Z number, once closed")
    counted_by_denomination: dict[str, int] | None = None
    card_batch_total: int | None = None
    approved_by: str | None = Field(default=None, description="who approved the over/short")
    report: dict[str, Any] | None = Field(
        default=None, description="the Z report at the close (app/domain/shift_report.py "
        "ZReport.as_dict)")


class StockReviewState(State):
    """entity_type ``stock_review``: an item of the reconciliation list a stock clerk
    accepted as it stands (every till of the store drops it from its list)."""

    id: str
    store_id: str
    key: str = Field(description="the item (app/domain/stock_rules.py review_key)")
    kind: str = Field(description="negative, count or compensation")
    product_id: str
    note: str | None
    accepted_by: str
    accepted_at: datetime | None
    device_id: str | None
    version: int


STATE_MODELS: dict[Entity, type[State]] = {
    Entity.ORDER: OrderState,
    Entity.PRODUCT: ProductState,
    Entity.STAFF: StaffState,
    Entity.STOCK_MOVEMENT: StockMovementState,
    Entity.STOCK_LEVEL: StockLevelState,
    Entity.CONFLICT: ConflictState,
    Entity.STORE: StoreState,
    Entity.APPROVAL: ApprovalState,
    Entity.SHIFT: ShiftState,
    Entity.STOCK_REVIEW: StockReviewState,
}


def state_model(entity_type: str) -> type[State] | None:
    """The state model of a feed entity type; None for one this code does not know."""
    try:
        return STATE_MODELS.get(Entity(entity_type))
    except ValueError:
        return None


def unknown_keys(model: type[BaseModel], data: dict[str, Any]) -> set[str]:
    """Keys of ``data`` the model does not declare (the tests hold the feed to none)."""
    return set(data) - set(model.model_fields)
