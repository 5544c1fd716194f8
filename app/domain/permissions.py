"""Who may do what: one role x action table for the terminal and the server.

The terminal uses it to offer actions and to ask for a manager's PIN; the server
uses the very same table to accept or reject each synced operation and REST call.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MANAGER = "manager"
    CASHIER = "cashier"
    STOCK = "stock"


class Action(StrEnum):
    SALE_CREATE = "sale.create"
    SALE_LINE_DISCOUNT = "sale.line_discount"
    SALE_ORDER_DISCOUNT = "sale.order_discount"
    PAYMENT_RECORD = "payment.record"
    ORDER_VIEW = "order.view"
    ORDER_EDIT = "order.edit"
    ORDER_DELETE_REQUEST = "order.delete.request"
    ORDER_DELETE = "order.delete"  # approve a deletion / delete directly
    REFUND_REQUEST = "refund.request"
    REFUND_APPROVE = "refund.approve"
    APPROVAL_DECIDE = "approval.decide"
    CONFLICT_RESOLVE = "conflict.resolve"
    REPORT_VIEW = "report.view"
    STOCK_COUNT = "stock.count"
    STOCK_RECEIVE = "stock.receive"
    STOCK_ADJUST = "stock.adjust"
    CATALOG_EDIT = "catalog.edit"
    CATALOG_IMPORT = "catalog.import"
    PRODUCT_DELETE = "product.delete"  # remove a product from the catalog (not just edit it)
    PRODUCT_QUICK_ADD = "product.quick_add"
    STAFF_MANAGE = "staff.manage"
    TERMINAL_ENROLL = "terminal.enroll"
    SETTINGS_EDIT = "settings.edit"
    SYNC_ADMIN = "sync.admin"  # the whole organization's quarantine, outbox import, compaction
    SYNC_RESOLVE = "sync.resolve"  # resubmit or dismiss a quarantined op of a store one works at
    SHIFT_OPEN = "shift.open"  # open the till's shift with its float
    SHIFT_CLOSE = "shift.close"  # count the drawer and close the shift
    CASH_MOVE = "cash.move"  # pay cash in or out of the drawer, drop cash to the safe
    DRAWER_NO_SALE = "drawer.no_sale"  # open the drawer without a sale
    SHIFT_VARIANCE_APPROVE = "shift.variance.approve"  # approve an over/short beyond the threshold


class PermissionDenied(PermissionError):
    """The signed-in person's role does not allow this action."""

    def __init__(self, role: Role, action: Action) -> None:
        super().__init__(f"A {role.value} may not do {action.value}")
        self.role = role
        self.action = action


_CASHIER = {
    Action.SALE_CREATE,
    # discounts: how far each role goes alone is its till limit (app/domain/till_limits.py;
    # a cashier's order limit is 0 % by default), past it a manager's PIN
    Action.SALE_LINE_DISCOUNT,
    Action.SALE_ORDER_DISCOUNT,
    Action.PAYMENT_RECORD,
    Action.ORDER_VIEW,
    Action.ORDER_DELETE_REQUEST,
    Action.REFUND_REQUEST,
    Action.SHIFT_OPEN,
    Action.SHIFT_CLOSE,
    Action.CASH_MOVE,
    Action.DRAWER_NO_SALE,
}
_STOCK = {
    Action.ORDER_VIEW,
    Action.STOCK_COUNT,
    Action.STOCK_RECEIVE,
    Action.STOCK_ADJUST,
    Action.CATALOG_EDIT,
    Action.CATALOG_IMPORT,
    Action.PRODUCT_QUICK_ADD,
}
_MANAGER = _CASHIER | _STOCK | {
    Action.ORDER_EDIT,
    Action.ORDER_DELETE,
    Action.PRODUCT_DELETE,
    Action.REFUND_APPROVE,
    Action.APPROVAL_DECIDE,
    Action.CONFLICT_RESOLVE,
    Action.REPORT_VIEW,
    Action.SHIFT_VARIANCE_APPROVE,
    Action.SYNC_RESOLVE,
}
_ADMIN = _MANAGER | {
    Action.STAFF_MANAGE,
    Action.TERMINAL_ENROLL,
    Action.SETTINGS_EDIT,
    Action.SYNC_ADMIN,
}

PERMISSIONS: dict[Role, frozenset[Action]] = {
    Role.OWNER: frozenset(Action),
    Role.ADMIN: frozenset(_ADMIN),
    Role.MANAGER: frozenset(_MANAGER),
    Role.CASHIER: frozenset(_CASHIER),
    Role.STOCK: frozenset(_STOCK),
}


def allowed(role: Role | str, action: Action | str) -> bool:
    return Action(action) in PERMISSIONS[Role(role)]


def require(role: Role | str, action: Action | str) -> None:
    if not allowed(role, action):
        raise PermissionDenied(Role(role), Action(action))
