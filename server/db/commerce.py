"""Catalog, stock, orders, payments, refunds and the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, JSONType, PersonalJSON, PersonalRecordJSON, utcnow


class Product(Base):
    __tablename__ = "products"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    sku: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(300))
    category: Mapped[str | None] = mapped_column(String(200), default=None)
    price: Mapped[int]
    tax_rate_ppm: Mapped[int]
    barcodes: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    stock_tracked: Mapped[bool] = mapped_column(default=True)
    reorder_level_milli: Mapped[int] = mapped_column(default=0)
    sold_by_weight: Mapped[bool] = mapped_column(default=False)
    deleted: Mapped[bool] = mapped_column(default=False)
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class StockLevel(Base):
    __tablename__ = "stock_levels"

    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"), primary_key=True)
    product_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    qty_milli: Mapped[int] = mapped_column(default=0)
    # the store's latest exact count of the product (app/domain/stock_rules.py): a
    # movement dated at or before it that arrives later is compensated at this moment
    counted_at: Mapped[datetime | None] = mapped_column(default=None)


class StockMovement(Base):
    __tablename__ = "stock_movements"
    # a product's ledger up to a moment (what an exact count is set against)
    __table_args__ = (Index("ix_stock_movements_store_product_created",
                            "store_id", "product_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36))  # the store's org (no key check per row)
    # no index of their own: every query is by (store_id, product_id[, created_at]),
    # the index above (migration 0020 dropped the two single-column ones)
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"))
    product_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(20))
    qty_delta_milli: Mapped[int]
    qty_after_milli: Mapped[int]
    reason: Mapped[str | None] = mapped_column(String(500), default=None)
    reference: Mapped[str | None] = mapped_column(String(100), default=None)
    actor_id: Mapped[str | None] = mapped_column(String(36), default=None)
    device_id: Mapped[str | None] = mapped_column(String(36), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StockReview(Base):
    """An item of a store's reconciliation list a stock clerk accepted as it stands
    (app/domain/stock_rules.py ``review_key``): who, when, why, from which till. One per
    item and store: a second till accepting it too adds nothing."""

    __tablename__ = "stock_reviews"
    __table_args__ = (UniqueConstraint("store_id", "key"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36))
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"))
    key: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20))
    product_id: Mapped[str] = mapped_column(String(36))
    note: Mapped[str | None] = mapped_column(String(500), default=None)
    accepted_by: Mapped[str] = mapped_column(String(36))
    accepted_at: Mapped[datetime]
    device_id: Mapped[str | None] = mapped_column(String(36), default=None)
    op_id: Mapped[str | None] = mapped_column(String(64), default=None)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (Index(None, "store_id", "created_at"), Index(None, "org_id", "reference"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"))
    reference: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    tax_inclusive: Mapped[bool]
    is_offline: Mapped[bool] = mapped_column(default=True)
    customer: Mapped[dict[str, Any] | None] = mapped_column(PersonalRecordJSON, default=None)
    customer_phone_index: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    order_discount_percent_ppm: Mapped[int] = mapped_column(default=0)
    order_discount_amount: Mapped[int] = mapped_column(default=0)
    subtotal: Mapped[int]
    discount: Mapped[int]
    tax: Mapped[int]
    total: Mapped[int]
    paid: Mapped[int] = mapped_column(default=0)
    refunded: Mapped[int] = mapped_column(default=0)
    note: Mapped[str | None] = mapped_column(String(2000), default=None)
    flags: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    installments: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(36))
    device_id: Mapped[str | None] = mapped_column(String(36), default=None)
    deleted_reason: Mapped[str | None] = mapped_column(String(1000), default=None)
    deleted_by: Mapped[str | None] = mapped_column(String(36), default=None)
    version: Mapped[int] = mapped_column(default=1)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class OrderLine(Base):
    __tablename__ = "order_lines"
    # a product's sales in the stock ledger (server/sync/stock.py): only the lines that
    # are a sale movement of their own (stock_after_milli set)
    __table_args__ = (Index("ix_order_lines_product_moved", "product_id",
                            sqlite_where=text("stock_after_milli IS NOT NULL"),
                            postgresql_where=text("stock_after_milli IS NOT NULL")),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    position: Mapped[int]
    product_id: Mapped[str | None] = mapped_column(String(36), default=None)
    sku: Mapped[str | None] = mapped_column(String(64), default=None)
    name: Mapped[str] = mapped_column(String(300))
    barcode: Mapped[str | None] = mapped_column(String(64), default=None)
    unit_price: Mapped[int]
    qty_milli: Mapped[int]
    tax_rate_ppm: Mapped[int]
    discount_percent_ppm: Mapped[int] = mapped_column(default=0)
    discount_amount: Mapped[int] = mapped_column(default=0)
    gross: Mapped[int]
    net: Mapped[int]
    tax: Mapped[int]
    total: Mapped[int]
    # The line's sale movement, when it took stock (a stock-tracked product of the org):
    # the store's level of the product after it. Such a movement is not a
    # stock_movements row (migration 0021): it is this line (id = the line's id, store
    # and time the order's, qty_delta_milli = -qty_milli, kind 'sale', reference the
    # order's, actor and device the order's creator and till). NULL: no movement, or one
    # stored as a row (lines sold before 0021, or re-written by an order edit: a
    # trigger writes a deleted line's movement as a row first). server/sync/stock.py
    # reads both.
    stock_after_milli: Mapped[int | None] = mapped_column(default=None)


class Payment(Base):
    """Append-only: a payment is a fact about money received."""

    __tablename__ = "payments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # where it was taken, copied from the pushing terminal: the order's key is checked,
    # these two are not (a key check per row is PostgreSQL's dearest part of a write)
    org_id: Mapped[str] = mapped_column(String(36))
    store_id: Mapped[str] = mapped_column(String(36))
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    method: Mapped[str] = mapped_column(String(30))
    amount: Mapped[int]
    tendered: Mapped[int]
    change: Mapped[int] = mapped_column(default=0)
    installment_id: Mapped[str | None] = mapped_column(String(36), default=None)
    actor_id: Mapped[str | None] = mapped_column(String(36), default=None)
    device_id: Mapped[str | None] = mapped_column(String(36), default=None)
    created_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class Refund(Base):
    __tablename__ = "refunds"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    amount: Mapped[int]
    method: Mapped[str] = mapped_column(String(30))
    restock: Mapped[bool]
    reason: Mapped[str] = mapped_column(String(1000))
    lines: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    approved_by: Mapped[str | None] = mapped_column(String(36), default=None)
    actor_id: Mapped[str] = mapped_column(String(36))
    device_id: Mapped[str | None] = mapped_column(String(36), default=None)
    created_at: Mapped[datetime]


class AuditEntry(Base):
    """Who changed what, field by field, from which device and operation."""

    __tablename__ = "audit_entries"
    __table_args__ = (Index(None, "entity_type", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    org_id: Mapped[str] = mapped_column(String(36))  # append-only log: no key check per row
    store_id: Mapped[str | None] = mapped_column(String(36), default=None)
    entity_type: Mapped[str] = mapped_column(String(30))
    entity_id: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))
    actor_id: Mapped[str | None] = mapped_column(String(36), default=None)
    device_id: Mapped[str | None] = mapped_column(String(36), default=None)
    op_id: Mapped[str | None] = mapped_column(String(64), default=None)
    changes: Mapped[dict[str, Any]] = mapped_column(PersonalJSON(binary=False), default=dict)
    reason: Mapped[str | None] = mapped_column(String(1000), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)



class Approval(Base):
    """A cashier's request to delete or refund an order, and a manager's decision."""

    __tablename__ = "approvals"
    __table_args__ = (Index(None, "store_id", "status"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"))
    kind: Mapped[str] = mapped_column(String(20))  # delete, refund
    order_id: Mapped[str] = mapped_column(String(36), index=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # approved, rejected
    reason: Mapped[str] = mapped_column(String(1000))
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    requested_by: Mapped[str] = mapped_column(String(36))
    requested_at: Mapped[datetime]
    device_id: Mapped[str | None] = mapped_column(String(36), default=None)
    decided_by: Mapped[str | None] = mapped_column(String(36), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    decision_note: Mapped[str | None] = mapped_column(String(1000), default=None)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Shift(Base):
    """A till's trading shift: opened with a float, closed with the drawer counted.

    One open shift per terminal (the partial unique index); amounts in minor units."""

    __tablename__ = "shifts"
    __table_args__ = (Index("ix_shifts_one_open", "terminal_id", unique=True,
                            sqlite_where=text("status = 'open'"),
                            postgresql_where=text("status = 'open'")),
                      # a Z number is used once per till (issue 14)
                      Index("ux_shifts_terminal_z", "terminal_id", "z_number", unique=True))

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"), index=True)
    terminal_id: Mapped[str] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(10), default="open")  # open, closed
    opened_by: Mapped[str] = mapped_column(String(36))
    opened_at: Mapped[datetime]
    opening_float: Mapped[int]
    float_counted: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    closed_by: Mapped[str | None] = mapped_column(String(36), default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    counted_cash: Mapped[int | None] = mapped_column(default=None)
    expected_cash: Mapped[int | None] = mapped_column(default=None)
    over_short: Mapped[int | None] = mapped_column(default=None)
    close_reason: Mapped[str | None] = mapped_column(String(500), default=None)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # the Z report (issue 14; server/sync/shifts.py)
    z_number: Mapped[int | None] = mapped_column(default=None)
    counted_by_denomination: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    card_batch_total: Mapped[int | None] = mapped_column(default=None)
    approved_by: Mapped[str | None] = mapped_column(String(36), default=None)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)


class Customer(Base):
    """A customer of the organization; name, phone and email are sealed (AES-GCM)."""

    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(PersonalRecordJSON, default=dict)
    phone_index: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
