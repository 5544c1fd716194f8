"""The back office's store scope (server/tenancy/scope.py) on an order's writes and reads.

A write to an order is checked inside its own transaction, once ops.run has found the
order's store: no read of its own before the write (ops.py's reason for finding the
store there). An order of a store out of scope is not found (404), as another
organization's."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from server.context import AppContext, StaffPrincipal
from server.db.models import Order
from server.errors import not_found
from server.sync.common import OpContext
from server.tenancy import scope as store_scope

#: what a store out of scope may not be asked for (403 store_scope)
ORDERS = "work with the orders"
APPROVALS = "decide the requests"

B = TypeVar("B")


def in_scope(staff: StaffPrincipal, body: Callable[[OpContext], B],
             entity: str = "Order") -> Callable[[OpContext], B]:
    """``body``, run only in a store of the caller's scope (404 ``entity`` otherwise,
    nothing written). An owner or admin: ``body`` itself (every store, no statement)."""
    if store_scope.sees_every_store(staff):
        return body

    def scoped(oc: OpContext) -> B:
        store_scope.check_record_store(oc.session, staff, oc.terminal.store_id, entity)
        return body(oc)
    return scoped


def order_store(ctx: AppContext, staff: StaffPrincipal, order_id: str) -> str:
    """The store of an order of the caller's organization and scope (404 otherwise), in
    one read."""
    with ctx.reader() as session:
        order = session.get(Order, order_id)
        if order is None or order.org_id != staff.org_id:
            raise not_found("Order")
        store_scope.check_record_store(session, staff, order.store_id, "Order")
        return order.store_id
