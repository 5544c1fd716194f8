"""``tillsync-server analytics rebuild``: the rollups counted again from the recorded
orders (after an upgrade that brings analytics to an existing database, or to check).

Each order is fed to the same consumer as its events would be (its state as created,
each payment received, each refund), a chunk of orders at a time with one query per
table, so a million orders take minutes, not hours. Run it with the server stopped or
quiet: a sale applied while it runs may be counted twice for that store."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from server.analytics.consumer import ORDERS, TABLES, Rollup
from server.db.commerce import Order, OrderLine, Payment, Refund
from server.db.tenancy import Store
from server.feed.serialize import iso

CHUNK = 2000


def clear(session: Session, store_ids: list[str] | None) -> None:
    for table in (*TABLES.values(), ORDERS):
        stmt = delete(table)
        if store_ids is not None:
            stmt = stmt.where(table.c.store_id.in_(store_ids))
        session.execute(stmt)


ORDER_COLUMNS = (Order.id, Order.org_id, Order.store_id, Order.created_at, Order.device_id,
                 Order.created_by, Order.status, Order.deleted_reason, Order.total, Order.tax,
                 Order.paid, Order.refunded, Order.installments)


def _states(session: Session, orders: list[Any]) -> list[tuple[str, dict[str, Any]]]:
    """The events a chunk of orders would have written, in order."""
    ids = [o.id for o in orders]
    lines: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for li in session.execute(select(OrderLine.order_id, OrderLine.id, OrderLine.product_id,
                                     OrderLine.name, OrderLine.qty_milli, OrderLine.total)
                              .where(OrderLine.order_id.in_(ids))
                              .order_by(OrderLine.order_id, OrderLine.position)):
        lines[li.order_id].append({"id": li.id, "product_id": li.product_id, "name": li.name,
                                   "qty_milli": li.qty_milli, "total": li.total})
    payments: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for p in session.execute(select(Payment.id, Payment.order_id, Payment.method, Payment.amount,
                                    Payment.created_at, Payment.device_id, Payment.actor_id)
                             .where(Payment.order_id.in_(ids))
                             .order_by(Payment.created_at, Payment.id)):
        payments[p.order_id].append({
            "id": p.id, "order_id": p.order_id, "method": p.method, "amount": p.amount,
            "created_at": iso(p.created_at), "device_id": p.device_id, "actor_id": p.actor_id})
    refunds: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in session.execute(select(Refund.order_id, Refund.amount, Refund.method, Refund.reason,
                                    Refund.actor_id, Refund.created_at, Refund.lines)
                             .where(Refund.order_id.in_(ids))):
        refunds[r.order_id].append({
            "order_id": r.order_id, "amount": r.amount, "method": r.method, "reason": r.reason,
            "actor_id": r.actor_id, "created_at": iso(r.created_at), "lines": r.lines})
    events: list[tuple[str, dict[str, Any]]] = []
    for o in orders:
        state = {"id": o.id, "store_id": o.store_id, "created_at": iso(o.created_at),
                 "device_id": o.device_id, "created_by": o.created_by, "status": o.status,
                 "deleted_reason": o.deleted_reason, "total": o.total, "tax": o.tax,
                 "paid": o.paid, "refunded": o.refunded, "installments": o.installments,
                 "lines": lines[o.id], "payments": payments[o.id],
                 "refunds": refunds[o.id]}  # (their lines: the goods brought back)
        events.append(("offline_order.created", state))
        events += [("payment.received", {"payment": p}) for p in payments[o.id]]
        events += [("refund.created", {"refund": r}) for r in refunds[o.id]]
    return events


def rebuild(session: Session, org_id: str | None = None) -> int:
    """Empty the rollups (of one organization's stores, or all) and count every order
    again; the number of orders counted."""
    store_ids = None if org_id is None else list(
        session.scalars(select(Store.id).where(Store.org_id == org_id)))
    clear(session, store_ids)
    conn = session.connection()
    after, counted = "", 0
    while True:
        stmt = select(*ORDER_COLUMNS).where(Order.id > after).order_by(Order.id).limit(CHUNK)
        if org_id is not None:
            stmt = stmt.where(Order.org_id == org_id)
        orders = list(session.execute(stmt))  # plain rows: no customer is opened
        if not orders:
            return counted
        rollup = Rollup()
        for event_type, data in _states(session, orders):
            org = org_id or ""
            rollup.feed(conn, org, event_type, data)
        for o in orders:
            rollup.orders[o.id]["org_id"] = o.org_id
        rollup.write(conn)
        counted += len(orders)
        after = orders[-1].id
