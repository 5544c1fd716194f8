"""All tables, imported in one place for Alembic and for the services."""

from server.db.base import Base
from server.db.commerce import (
    AuditEntry,
    Order,
    OrderLine,
    Payment,
    Product,
    Refund,
    StockLevel,
    StockMovement,
)
from server.db.syncing import (
    Conflict,
    Event,
    FeedEntry,
    ProcessedOp,
    QuarantinedOp,
    WebhookDelivery,
)
from server.db.tenancy import (
    EnrollmentCode,
    Organization,
    RefreshToken,
    Staff,
    Store,
    Terminal,
)

__all__ = [
    "AuditEntry", "Base", "Conflict", "EnrollmentCode", "Event", "FeedEntry", "Order",
    "OrderLine", "Organization", "Payment", "ProcessedOp", "Product", "QuarantinedOp",
    "Refund", "RefreshToken", "Staff", "StockLevel", "StockMovement", "Store", "Terminal",
    "WebhookDelivery",
]
