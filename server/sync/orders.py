"""order.create, payment.record and refund.create.

A sale made at the till already happened: what the till could not have known (a
changed price, an unknown product, stock going negative, totals that differ from the
server's computation, another till's payment, a reference another order holds) becomes
a flag on the result and the order, never a rejection. What no correct till sends is
rejected with the words of the shared rules (app/domain/order_rules.py, also checked by
the till before it writes): a payment of nothing or in an unknown tender, a refund of
more than was sold or paid, a schedule that does not add up, a malformed reference, a
number out of range, a line id another order holds.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from app.domain import order_balance, order_rules, stock_rules
from app.domain.operations import Entity, OpType
from app.domain.order_rules import SoldLine
from app.domain.order_status import OrderStatus
from app.domain.permissions import Action, allowed
from app.domain.tender import may_exceed_balance, over_balance_message
from server.db.base import cast_table, utcnow
from server.db.bulk_insert import insert_together
from server.db.models import (
    Approval,
    AuditEntry,
    Order,
    OrderLine,
    Payment,
    Product,
    Refund,
    Staff,
    StockLevel,
    StockMovement,
    Store,
)
from server.feed.serialize import order_state, payment_state, refund_state_of
from server.sync import bulk_run, order_limits, till_limits
from server.sync.common import OpContext, Outcome, Rejected, jsonable
from server.sync.order_decision import Applied, Envelope, Refused, decide, rules
from server.sync.stock import apply_delta
from sync.payloads import OrderCreate, PaymentData, RefundCreate
from sync.protocol import OpStatus


def used_line_ids(oc: OpContext, line_ids: list[str]) -> list[str]:
    """Which of these order line ids another order already holds."""
    if not line_ids:
        return []
    return list(oc.session.scalars(select(OrderLine.id).where(OrderLine.id.in_(line_ids))))


def flag(oc: OpContext, name: str) -> None:
    if name not in oc.flags:
        oc.flags.append(name)


def load_order(oc: OpContext, order_id: str) -> Order:
    """An order of the terminal's own store, locked for the change."""
    order = oc.session.scalars(
        select(Order).where(Order.id == order_id).with_for_update()
    ).first()
    if order is None or order.org_id != oc.terminal.org_id:
        raise Rejected(f"order {order_id} does not exist on the server")
    if order.store_id != oc.terminal.store_id:
        raise Rejected(f"order {order_id} belongs to another store")
    return order


def publish_order(oc: OpContext, order: Order) -> dict[str, object]:
    oc.session.flush()
    state = order_state(oc.session, order)
    # Only the order's own store sees it, even from an org-wide writer (conflict.resolve).
    oc.publish(Entity.ORDER, order.id, order.version, state,
               deleted=order.status == OrderStatus.DELETED.value, store_id=order.store_id)
    return state


def _add_payment(oc: OpContext, order: Order, p: PaymentData) -> bool:
    """Append a payment unless it is already there; True when added."""
    if oc.session.get(Payment, p.id) is not None:
        return False
    oc.session.add(Payment(
        id=p.id, org_id=order.org_id, store_id=order.store_id, order_id=order.id,
        method=p.method, amount=p.amount, tendered=p.tendered, change=p.change,
        installment_id=p.installment_id, actor_id=oc.actor.id,
        device_id=oc.terminal.terminal_id, created_at=p.created_at,
    ))
    order.paid += p.amount
    return True


def _restatus(order: Order, returned: int) -> None:
    """The status the balance gives, only ever forward (app/domain/order_rules.py), goods
    brought back (``returned``: their value, app/domain/order_balance.py) counted."""
    order.status = order_rules.next_status(order.status, order.total, order.paid,
                                           order.refunded, returned).value


_ORDERS, _LINES, _PAYMENTS, _MOVEMENTS, _AUDIT = (
    cast_table(m) for m in (Order, OrderLine, Payment, StockMovement, AuditEntry))


def write_rows(session: Session, decision: Applied, audit: dict[str, Any] | None = None
               ) -> int | None:
    """An applied order.create's order, lines, payments and stock movements, inserted in
    that order (the lines and payments name the order) by one Core statement per table
    on the session's connection: no ORM objects, so no flush of their own (the ORM
    orders a flush's inserts by class name, not by foreign key: the order had to be
    flushed alone first, and its unit of work cost more than the statements). The order's
    customer phone index is set here, as the ORM's insert hook (server/crypto.py) and
    the push's bulk writer do.

    On PostgreSQL the inserts are one statement (server/db/bulk_insert.py
    ``insert_together``: written once per shape, no SQLAlchemy statement per call), with
    ``audit`` (an OpContext.audit_row) as its last insert: the audit entry's id is
    returned. None: ``audit`` was not written (SQLite), the caller adds it as usual."""
    conn = session.connection()
    order = dict(decision.order)
    customer = order.get("customer")
    phone = customer.get("phone") if isinstance(customer, dict) else None
    cipher = getattr(conn.dialect, "tillsync_cipher", None)
    order["customer_phone_index"] = cipher.phone_index(phone) if cipher else None
    parts = [(_ORDERS, [order]), (_LINES, decision.lines), (_PAYMENTS, decision.payments),
             (_MOVEMENTS, decision.movements)]
    together = parts + [(_AUDIT, [audit])] if audit is not None else parts
    ids = insert_together(conn, together, returning="id" if audit is not None else None)
    if ids is not None:  # PostgreSQL: one statement, one round trip
        return int(ids[0]) if audit is not None else None
    for table, rows in parts:
        if rows:
            conn.execute(insert(table), rows)
    return None


def _known(oc: OpContext) -> bulk_run.Run:
    """What bulk_run.load need not read again for this op: its actor (the context's, read
    in this transaction) and its store's currency when the store is loaded in the session
    already (the back office's, :func:`server.backoffice.ops._store_and_actor`): two look-ups
    less. The session is flushed first, as load does for a run of its own."""
    oc.session.flush()
    run = bulk_run.Run()
    actor = oc.actor
    if oc.op.actor_id == actor.id:
        run.staff[actor.id] = bulk_run.StaffRow(actor.id, actor.org_id, actor.name,
                                                actor.role, bool(actor.active))
    store = oc.session.identity_map.get(identity_key(Store, oc.terminal.store_id))
    if store is not None and "currency" in store.__dict__:  # (loaded, not expired)
        run.currencies[oc.terminal.store_id] = store.currency
    return run


def order_create(oc: OpContext) -> Outcome:
    return order_create_in(oc)


def order_create_in(oc: OpContext, *, server_reference: bool = False) -> Outcome:
    """order.create, decided by order_decision.decide on what bulk_run.load reads (as
    the bulk writer does), written through the ORM; ``server_reference`` for the back
    office's orders (references the server made, in the range no terminal holds)."""
    known = bulk_run.load(oc.session, _known(oc), [(oc.terminal, [oc.op])])
    actor, term = oc.actor, oc.terminal
    env = Envelope(oc.op.op_id, oc.op.entity_id, term.org_id, term.store_id,
                   term.terminal_id, actor.id, actor.name, actor.role, utcnow(),
                   server_reference, currency=known.currencies.get(term.store_id))
    # the dispatch parsed it already (after the right to sell); the back office's not
    parsed = oc.parsed if isinstance(oc.parsed, OrderCreate) else None
    decision = decide(oc.op.payload, env, known, parsed=parsed)
    if isinstance(decision, Refused):
        raise Rejected(decision.reason)
    if term.terminal_id is not None and till_limits.may_breach(oc.op.payload):
        till_limits.check_sale(oc.session, term.store_id, actor,
                               parsed or OrderCreate.model_validate(oc.op.payload))
    elif term.terminal_id is None:  # the back office: the signed-in person's own limits
        order_limits.check_staff_sale(oc.session, term.store_id, actor,
                                      parsed or OrderCreate.model_validate(oc.op.payload),
                                      known.products)
    session = oc.session
    audit = oc.audit_row(Entity.ORDER, oc.op.entity_id, OpType.ORDER_CREATE, decision.audit)
    audit_id = write_rows(session, decision, audit)
    for key, qty in decision.levels.items():  # each locked (and made at 0) by load
        level = session.get(StockLevel, key)
        assert level is not None, key
        level.qty_milli = qty  # (flushed when the write ends)
    oc.flags[:] = decision.flags
    if audit_id is None:  # (not written with the rows: SQLite)
        oc.audit(Entity.ORDER, oc.op.entity_id, OpType.ORDER_CREATE, decision.audit)
    else:
        oc.written_audit.append(audit | {"id": audit_id})
    for entity_type, entity_id, data in decision.feed:
        oc.publish(entity_type, entity_id, 1, data)
    for event_type, data in decision.events:
        oc.emit(event_type, data)
    return Outcome(OpStatus.APPLIED, 1, flags=list(decision.flags))


def payment_record(oc: OpContext) -> Outcome:
    """Append-only: a payment already stored is not added again."""
    oc.require(Action.PAYMENT_RECORD)
    p = oc.payload_as(PaymentData)
    with rules():
        order_rules.check_payment(p.amount, p.method, tendered=p.tendered, change=p.change)
    order = load_order(oc, p.order_id)
    existing = oc.session.get(Payment, p.id)
    if existing is not None:
        if existing.order_id != order.id:
            raise Rejected(f"payment id {p.id} is already used by another order")
        return Outcome(OpStatus.APPLIED, order.version, flags=["payment_already_recorded"])
    with rules():
        order_rules.check_takes_payment(order.status, order.reference)
        order_rules.check_sum(order.paid, p.amount, "The payments on this order")
    returned = returned_of(oc.session, order)  # (goods brought back: app/domain/order_balance)
    if not may_exceed_balance(p.method):
        # (app/domain/tender.py: cash may, giving change). The back office
        # sees the balance as it is; a till may not have seen another till's payment,
        # but never sends a card payment beyond the order's total
        due = (order_balance.balance_due(order.total, order.paid, order.refunded, returned)
               if oc.terminal.terminal_id is None else order.total)
        if p.amount > due:
            raise Rejected(over_balance_message(p.method))
    _add_payment(oc, order, p)
    if order_balance.owed(order.total, order.paid, order.refunded, returned) < 0:
        flag(oc, "overpaid")
    _restatus(order, returned)
    order.version += 1
    order.updated_at = utcnow()
    oc.audit(Entity.PAYMENT, p.id, OpType.PAYMENT_RECORD,
             {"amount": {"before": None, "after": p.amount}, "order_id": order.id})
    publish_order(oc, order)
    oc.session.flush()
    payment = oc.session.get(Payment, p.id)
    oc.emit("payment.received", {"order_id": order.id, "reference": order.reference,
                                 "payment": payment_state(payment) if payment else None})
    return Outcome(OpStatus.APPLIED, order.version, flags=list(oc.flags))


def refund_create(oc: OpContext) -> Outcome:
    """A refund of a paid order, approved by someone allowed to approve refunds."""
    return refund_in(oc, oc.payload_as(RefundCreate))


def link_approval(oc: OpContext, approval_id: str | None, order: Order, refund_id: str) -> None:
    """Record on the refund approval ``approval_id`` that ``refund_id`` carried it out
    (``details.refund_id``, the key a back-office request already proposes its refund id
    under); the feed, the API and events read the refund's ``approval_id`` from there.
    An approval of another order, kind or organization is left alone (``settle`` flags
    it), and so is one already carried out by another recorded refund."""
    if not approval_id:
        return
    approval = oc.session.get(Approval, approval_id, with_for_update=True)
    if (approval is None or approval.org_id != order.org_id or approval.kind != "refund"
            or approval.order_id != order.id):
        return
    details = dict(approval.details or {})
    named = details.get("refund_id")
    if named == refund_id or (named and oc.session.get(Refund, named) is not None):
        return
    approval.details = details | {"refund_id": refund_id}


def refunded_quantities(session: Session, order_id: str) -> dict[str, int]:
    """{line id: quantity the order's recorded refunds took back}."""
    return order_balance.brought_back_by_line(
        session.scalars(select(Refund.lines).where(Refund.order_id == order_id)))


def sold_lines(oc: OpContext, order: Order) -> dict[str, SoldLine]:
    """Each line of the order: what it sold and what of it the recorded refunds took."""
    refunded = refunded_quantities(oc.session, order.id)
    return {li.id: SoldLine(li.name, li.qty_milli, refunded.get(li.id, 0))
            for li in oc.session.scalars(select(OrderLine).where(OrderLine.order_id == order.id))}


def returned_of(session: Session, order: Order) -> int:
    """What the goods brought back on ``order`` are worth, from its lines and its refunds'
    lines (app/domain/order_balance.py, the till's rule on the same data)."""
    refunded = refunded_quantities(session, order.id)
    if not refunded:
        return 0
    rows = session.execute(select(OrderLine.total, OrderLine.qty_milli, OrderLine.id)
                           .where(OrderLine.order_id == order.id))
    return sum(order_balance.line_returned(total, qty, refunded.get(line_id, 0))
               for total, qty, line_id in rows)


def refund_in(oc: OpContext, p: RefundCreate) -> Outcome:
    from server.sync.approvals import settle

    oc.require(Action.REFUND_REQUEST)
    approver_ok = oc.can(Action.REFUND_APPROVE)
    if not approver_ok and p.approved_by:
        approver = oc.session.get(Staff, p.approved_by)
        approver_ok = bool(approver and approver.org_id == oc.terminal.org_id
                           and approver.active and allowed(approver.role, Action.REFUND_APPROVE))
    if not approver_ok:
        raise Rejected("a refund needs the approval of someone allowed to do refund.approve")
    if oc.terminal.terminal_id is not None:
        till_limits.check_refund(oc.session, oc.terminal.store_id, oc.actor, p)
    else:  # the back office: the signed-in person refunds (or approves) on their own limits
        order_limits.check_staff_refund(oc.session, oc.terminal.store_id, oc.actor,
                                        p.without_receipt)
    order = load_order(oc, p.order_id)
    if (held := oc.session.get(Refund, p.refund_id)) is not None:
        if held.order_id != order.id:  # (as payment.record: another order's id is no retry)
            raise Rejected(f"refund id {p.refund_id} is already used by a refund of another "
                           "order; each refund needs its own id")
        settle(oc, p.approval_id, "refund", order.id)
        return Outcome(OpStatus.APPLIED, order.version,
                       flags=list(dict.fromkeys(["refund_already_recorded", *oc.flags])))
    if order.status == OrderStatus.DELETED.value:
        raise Rejected("a deleted order cannot be refunded")
    with rules():
        order_rules.check_method(p.method)
        order_rules.check_refund_lines(p.lines, sold_lines(oc, order))
        order_rules.check_refund_money(p.amount, order.paid, order.refunded, order.currency)
    oc.session.add(Refund(
        id=p.refund_id, order_id=order.id, amount=p.amount, method=p.method,
        restock=p.restock, reason=p.reason, lines=jsonable([li.model_dump() for li in p.lines]),
        approved_by=p.approved_by, actor_id=oc.actor.id, device_id=oc.terminal.terminal_id,
        created_at=p.created_at,
    ))
    link_approval(oc, p.approval_id, order, p.refund_id)
    order.refunded += p.amount
    oc.session.flush()  # (the refund's lines, for the value of the goods brought back)
    _restatus(order, returned_of(oc.session, order))
    if p.restock:
        lines = {li.id: li for li in oc.session.scalars(
            select(OrderLine).where(OrderLine.order_id == order.id))}
        for rl in p.lines:
            line = lines.get(rl.line_id)
            product = oc.session.get(Product, line.product_id) if line and line.product_id else None
            if product is not None and product.stock_tracked:
                apply_delta(oc, product.id, rl.qty_milli, stock_rules.REFUND, reference=order.reference)
    order.version += 1
    order.updated_at = utcnow()
    oc.audit(Entity.ORDER, order.id, OpType.REFUND_CREATE,
             {"refunded": {"before": order.refunded - p.amount, "after": order.refunded},
              "refund_id": p.refund_id, "approval_id": p.approval_id},
             reason=p.reason)
    state = publish_order(oc, order)
    oc.emit("offline_order.updated", state)
    refund = oc.session.get(Refund, p.refund_id)
    oc.emit("refund.created", {"order_id": order.id, "reference": order.reference,
                               "refund": refund_state_of(oc.session, refund) if refund else None})
    settle(oc, p.approval_id, "refund", order.id)
    return Outcome(OpStatus.APPLIED, order.version, flags=list(oc.flags))
