"""All tables, imported in one place for Alembic and for the services."""

from server.db.analytics import (
    AnalyticsDeletions,
    AnalyticsOrder,
    AnalyticsProducts,
    AnalyticsRefunds,
    AnalyticsSales,
    AnalyticsTenders,
    AnalyticsTotals,
    StoreTimeZone,
)
from server.db.base import Base
from server.db.commerce import (
    Approval,
    AuditEntry,
    Customer,
    Order,
    OrderLine,
    Payment,
    Product,
    Refund,
    Shift,
    StockLevel,
    StockMovement,
    StockReview,
)
from server.db.guards import RateLimitBucket, SignInLock
from server.db.journal import (
    JournalCheck,
    JournalHead,
    JournalLink,
    JournalPending,
    TerminalJournalHead,
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
    ServerMeta,
    Staff,
    Store,
    Terminal,
)
from server.db.trading_day import CashMovement

__all__ = [
    "Approval", "AuditEntry", "CashMovement", "Customer", "ServerMeta", "Base", "Conflict", "EnrollmentCode", "Event", "FeedEntry", "Order",
    "OrderLine", "Organization", "Payment", "ProcessedOp", "Product", "QuarantinedOp",
    "Refund", "RefreshToken", "Shift", "Staff", "StockLevel", "StockMovement", "StockReview", "Store", "Terminal",
    "WebhookDelivery", "RateLimitBucket", "SignInLock",
    "JournalCheck", "JournalHead", "JournalLink", "JournalPending", "TerminalJournalHead",
    "AnalyticsDeletions", "AnalyticsOrder", "AnalyticsProducts", "AnalyticsRefunds",
    "AnalyticsSales", "AnalyticsTenders", "AnalyticsTotals", "StoreTimeZone",
]
