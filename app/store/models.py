"""The terminal's local tables (SQLAlchemy 2 typed models).

Money columns are integer minor units, quantities thousandths (``*_milli``), tax
rates parts per million. ``version`` is the server's version of the row (0 until
the server has accepted it); it is what edits name as their ``base_version``.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain import order_balance
from app.store.base import Base, utcnow


class Device(Base):
    """This terminal (one row): its identity, counters and audit chain head."""

    __tablename__ = "device"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    code: Mapped[str] = mapped_column(String(2))
    name: Mapped[str] = mapped_column(String(100), default="Till")
    org_id: Mapped[str | None] = mapped_column(String(36))
    store_id: Mapped[str] = mapped_column(String(36))
    server_url: Mapped[str | None] = mapped_column(String(300))
    enrolled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    order_counter: Mapped[int] = mapped_column(Integer, default=0)
    op_seq: Mapped[int] = mapped_column(Integer, default=0)
    audit_seq: Mapped[int] = mapped_column(Integer, default=0)
    audit_head: Mapped[str] = mapped_column(String(64), default="0" * 64)


class StoreSettings(Base):
    """The store this terminal belongs to: receipt header, currency, tax mode."""

    __tablename__ = "store_settings"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(Text, default="")
    tax_id: Mapped[str] = mapped_column(String(50), default="")
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    locale: Mapped[str] = mapped_column(String(20), default="en_IE")
    tax_inclusive: Mapped[bool] = mapped_column(Boolean, default=True)
    receipt_footer: Mapped[str] = mapped_column(Text, default="Thank you!")
    # a count moving stock by more than this share is listed for a recount (ppm; issue 18)
    recount_share_ppm: Mapped[int] = mapped_column(Integer, default=250_000, server_default="250000")
    version: Mapped[int] = mapped_column(Integer, default=0)
    # the till limits by role (app/domain/till_limits.py), from the server; None: defaults
    till_limits: Mapped[dict | None] = mapped_column(JSON, default=None)


class Category(Base):
    __tablename__ = "categories"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    version: Mapped[int] = mapped_column(Integer, default=0)


class Product(Base):
    __tablename__ = "products"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    category_id: Mapped[str | None] = mapped_column(ForeignKey("categories.id"))
    price: Mapped[int] = mapped_column(Integer)
    tax_rate_ppm: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    stock_tracked: Mapped[bool] = mapped_column(Boolean, default=True)
    sold_by_weight: Mapped[bool] = mapped_column(Boolean, default=False)
    reorder_level_milli: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    category: Mapped[Category | None] = relationship(lazy="joined")
    barcodes: Mapped[list[Barcode]] = relationship(
        back_populates="product", cascade="all, delete-orphan", lazy="selectin"
    )


class Barcode(Base):
    """A code that finds a product: EAN/UPC (stored as EAN-13), EAN-8, GS1 lookup, Code128."""

    __tablename__ = "barcodes"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    product: Mapped[Product] = relationship(back_populates="barcodes")


class PriceChange(Base):
    """Price history: every price a product had and who set it."""

    __tablename__ = "price_history"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"), index=True)
    old_price: Mapped[int | None] = mapped_column(Integer)
    new_price: Mapped[int] = mapped_column(Integer)
    actor_id: Mapped[str | None] = mapped_column(String(36))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StockMovement(Base):
    """One entry of the stock ledger; on-hand is the sum of a product's deltas."""

    __tablename__ = "stock_movements"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    kind: Mapped[str] = mapped_column(String(16))  # sale, refund, receive, adjust, count
    qty_delta_milli: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    reference: Mapped[str | None] = mapped_column(String(100))
    order_id: Mapped[str | None] = mapped_column(ForeignKey("orders.id"))
    actor_id: Mapped[str | None] = mapped_column(String(36))
    device_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    synced: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (Index("ix_stock_movements_product_id_qty", "product_id", "qty_delta_milli"),
                      # the reconciliation list's counts and compensations (issue 18)
                      Index("ix_stock_movements_kind_product", "kind", "product_id"))


class Customer(Base):
    """Personal data encrypted at rest; ``phone_index`` is a keyed hash for exact look-up."""

    __tablename__ = "customers"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    email_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_index: Mapped[str | None] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Staff(Base):
    __tablename__ = "staff"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    code: Mapped[str] = mapped_column(String(20), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    pin_hash: Mapped[str] = mapped_column(String(200))
    #: the salt of the person's approval key (app/domain/approval_proof.py), from the feed
    approval_salt: Mapped[str | None] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_pins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=0)


class Order(Base):
    __tablename__ = "orders"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    store_id: Mapped[str] = mapped_column(String(36))
    device_id: Mapped[str] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(16), index=True)
    is_offline: Mapped[bool] = mapped_column(Boolean, default=True)
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customers.id"))
    currency: Mapped[str] = mapped_column(String(3))
    tax_inclusive: Mapped[bool] = mapped_column(Boolean)
    order_discount_percent_ppm: Mapped[int] = mapped_column(Integer, default=0)
    order_discount_amount: Mapped[int] = mapped_column(Integer, default=0)
    subtotal: Mapped[int] = mapped_column(Integer)
    discount: Mapped[int] = mapped_column(Integer)
    tax: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    paid: Mapped[int] = mapped_column(Integer, default=0)
    refunded: Mapped[int] = mapped_column(Integer, default=0)
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    note: Mapped[str | None] = mapped_column(Text)
    deleted_reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=0)

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.position"
    )
    payments: Mapped[list[Payment]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="Payment.created_at"
    )
    customer: Mapped[Customer | None] = relationship()

    @property
    def returned(self) -> int:
        """What the goods brought back are worth (app/domain/order_balance.py)."""
        return order_balance.returned_value(self.lines)

    @property
    def balance(self) -> int:
        """What the customer still owes, after payments, refunds and goods brought back
        (less than zero: overpaid); the server's rule too (app/domain/order_balance.py)."""
        return order_balance.owed(self.total, self.paid, self.refunded, self.returned)


class OrderLine(Base):
    """A sold item with a snapshot of the price and tax it was sold at."""

    __tablename__ = "order_lines"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[str | None] = mapped_column(ForeignKey("products.id"))
    sku: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    barcode: Mapped[str | None] = mapped_column(String(64))
    unit_price: Mapped[int] = mapped_column(Integer)
    qty_milli: Mapped[int] = mapped_column(Integer)
    tax_rate_ppm: Mapped[int] = mapped_column(Integer)
    discount_percent_ppm: Mapped[int] = mapped_column(Integer, default=0)
    discount_amount: Mapped[int] = mapped_column(Integer, default=0)
    gross: Mapped[int] = mapped_column(Integer)
    net: Mapped[int] = mapped_column(Integer)
    tax: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    refunded_qty_milli: Mapped[int] = mapped_column(Integer, default=0)

    order: Mapped[Order] = relationship(back_populates="lines")


class Payment(Base):
    """Append-only: a payment is never edited; a refund is a new negative payment."""

    __tablename__ = "payments"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    method: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(Integer)
    tendered: Mapped[int] = mapped_column(Integer)
    change: Mapped[int] = mapped_column(Integer, default=0)
    installment_id: Mapped[str | None] = mapped_column(String(36))
    actor_id: Mapped[str] = mapped_column(String(36))
    device_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    order: Mapped[Order] = relationship(back_populates="payments")


class Installment(Base):
    """One scheduled part of a payment plan."""

    __tablename__ = "installments"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[date] = mapped_column(Date)
    amount: Mapped[int] = mapped_column(Integer)


class AuditEntry(Base):
    """Append-only audit log, hash-chained per device so tampering is detectable."""

    __tablename__ = "audit_log"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(36))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor_id: Mapped[str] = mapped_column(String(36))
    action: Mapped[str] = mapped_column(String(40))
    entity_type: Mapped[str] = mapped_column(String(30))
    entity_id: Mapped[str] = mapped_column(String(36), index=True)
    changes: Mapped[dict] = mapped_column(JSON, default=dict)
    reason: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_audit_log_device_seq", "device_id", "seq", unique=True),)


class OutboxOperation(Base):
    """An operation waiting to be pushed (or its outcome once the server answered)."""

    __tablename__ = "outbox"
    op_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    op_seq: Mapped[int] = mapped_column(Integer, unique=True)
    type: Mapped[str] = mapped_column(String(30))
    entity_id: Mapped[str] = mapped_column(String(36), index=True)
    actor_id: Mapped[str] = mapped_column(String(36))
    device_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    base_version: Mapped[int] = mapped_column(Integer, default=0)
    format_version: Mapped[int] = mapped_column(Integer, default=1)
    payload: Mapped[dict] = mapped_column(JSON)
    #: the approver's proof of a privileged op (made from the typed PIN; never the key)
    approval_proof: Mapped[dict | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SyncState(Base):
    """Key/value state of the sync client (cursor, last sync time, server clock skew)."""

    __tablename__ = "sync_state"
    key: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


# Tables of the order's life after the sale live in their own module; importing them
# here registers them with the metadata whenever the store is used.
from app.store.models_aftersale import Approval, Conflict, Refund, RefundLine  # noqa: E402,F401
from app.store.models_shifts import Shift  # noqa: E402,F401
from app.store.models_stock_counts import StockCount, StockReview  # noqa: E402,F401
from app.store.models_till_ui import ParkedSale, QuickKey  # noqa: E402,F401
