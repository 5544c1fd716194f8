"""Editing a pending order: customer details, lines, note — with a field-level trail.

A completed order is never edited: it is corrected by a refund. Each edit syncs as
``order.update`` whose fields carry the value they were based on, so the server
merges edits of different fields and raises a conflict when two terminals changed
the same field differently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from app.domain import order_rules, stock_rules
from app.domain.cart import CartLine
from app.domain.ids import new_id
from app.domain.limits import MAX_REASON
from app.domain.operations import OpType
from app.domain.order_rules import RuleError, check_note
from app.domain.order_status import OrderStatus, is_editable
from app.domain.payloads import EntityUpdate, FieldEdit
from app.domain.permissions import Action, require
from app.domain.text_rules import too_long
from app.domain.totals import Discount, LineInput, compute
from app.services.customers import CustomerDetails, decrypt, details_problem, upsert_in
from app.services.sales import line_payload
from app.store.local import LocalStore
from app.store.models import Installment, Order, OrderLine, StockMovement
from app.store.outbox_crypto import seal_payload
from app.store.unit_of_work import Actor, Mutation, mutation


class EditError(ValueError):
    """An edit the rules do not allow; the message is for the person."""


@dataclass(frozen=True)
class LineChange:
    line_id: str
    qty_milli: int  # 0 removes the line


def _customer_dict(store: LocalStore, order: Order) -> dict[str, Any] | None:
    return decrypt(store.cipher, order.customer).as_dict() if order.customer else None


def _recompute(order: Order) -> None:
    inputs = [LineInput(li.unit_price, li.qty_milli, li.tax_rate_ppm,
                        Discount(li.discount_percent_ppm, li.discount_amount)) for li in order.lines]
    totals = compute(inputs, Discount(order.order_discount_percent_ppm, order.order_discount_amount),
                     inclusive=order.tax_inclusive)
    for li, lt in zip(order.lines, totals.lines, strict=True):
        li.gross, li.net, li.tax, li.total = lt.gross, lt.net, lt.tax, lt.total
    order.subtotal, order.discount, order.tax, order.total = totals.subtotal, totals.discount, totals.tax, totals.total


def edit_order(
    store: LocalStore,
    actor: Actor,
    order_id: str,
    *,
    customer: CustomerDetails | None = None,
    lines: list[LineChange] | None = None,
    note: str | None = None,
    reason: str | None = None,
    added: list[CartLine] | None = None,
) -> dict[str, dict[str, Any]]:
    """Apply the given changes; returns the field-level before/after that was recorded.
    ``added``: new lines (from the catalog, priced now), sold from stock like a sale's."""
    require(actor.role, Action.ORDER_EDIT)
    _check_texts(note, reason, customer)
    with mutation(store.db, store.device_id, actor, Action.ORDER_EDIT) as m:
        order = m.session.get(Order, order_id)
        if order is None:
            raise EditError("Order not found")
        if not is_editable(OrderStatus(order.status)):
            raise EditError(f"Order {order.reference} is {order.status}; a completed order is corrected by refund")
        fields: dict[str, dict[str, Any]] = {}
        if customer is not None:
            before = _customer_dict(store, order)
            cust = upsert_in(m.session, store.cipher, customer)
            m.session.flush()
            order.customer_id, order.customer = cust.id, cust
            after = _customer_dict(store, order)
            if after != before:
                fields["customer"] = {"base": before, "value": after}
        if note is not None and note != order.note:
            fields["note"] = {"base": order.note, "value": note}
            order.note = note
        if lines or added:
            if m.session.scalar(select(Installment.id).where(Installment.order_id == order.id).limit(1)):
                raise EditError("This order has a payment plan; its lines cannot change. "
                                "Refund or delete it and ring it up again.")
            fields.update(_edit_lines(order, lines or [], m, added or []))
        if not fields:
            raise EditError("Nothing was changed")
        order.status = order_rules.next_status(order.status, order.total, order.paid,
                                               order.refunded, order.returned).value
        order.updated_at = m.at
        audit_changes = {k: {"before": v["base"], "after": v["value"]} for k, v in fields.items()}
        # The audit log keeps a customer's details sealed, as the customers table does.
        m.audit("order", order.id, seal_payload(store.cipher, audit_changes), reason=reason)
        m.emit(OpType.ORDER_UPDATE, order.id, EntityUpdate(
            fields={k: FieldEdit(**v) for k, v in fields.items()}, reason=reason),
            base_version=order.version)
        return audit_changes


def _check_texts(note: str | None, reason: str | None, customer: CustomerDetails | None) -> None:
    """Each text fits its field in the payload (the model's bounds), said in words."""
    try:
        check_note(note)
    except RuleError as exc:
        raise EditError(str(exc)) from exc
    problem = (too_long("The reason", reason, MAX_REASON)
               or (details_problem(customer) if customer is not None else None))
    if problem:
        raise EditError(problem)


def _add_lines(order: Order, added: list[CartLine], m: Mutation) -> None:
    """New lines at the end of the order; their stock goes out as a sale's does."""
    position = max((li.position for li in order.lines), default=-1)
    for cl in added:
        if cl.qty_milli <= 0:
            raise EditError("A quantity must be more than zero")
        position += 1
        order.lines.append(OrderLine(
            id=cl.id, position=position, product_id=cl.product_id, sku=cl.sku, name=cl.name,
            barcode=cl.barcode, unit_price=cl.unit_price, qty_milli=cl.qty_milli,
            tax_rate_ppm=cl.tax_rate_ppm, discount_percent_ppm=cl.discount.percent_ppm,
            discount_amount=cl.discount.amount, gross=0, net=0, tax=0, total=0, refunded_qty_milli=0))
        if cl.product_id:
            m.session.add(StockMovement(
                id=new_id(), product_id=cl.product_id, kind=stock_rules.SALE, qty_delta_milli=-cl.qty_milli,
                reason="order edited", reference=order.reference, order_id=order.id,
                actor_id=m.actor.staff_id, device_id=m.device.id, created_at=m.at, synced=True))


def _edit_lines(order: Order, changes: list[LineChange], m: Mutation,
                added: list[CartLine] | None = None) -> dict[str, dict[str, Any]]:
    base_lines = [line_payload(li) for li in order.lines]
    base_total = order.total
    by_id = {li.id: li for li in order.lines}
    for change in changes:
        line = by_id.get(change.line_id)
        if line is None:
            raise EditError("That line is not on this order")
        if change.qty_milli < 0:
            raise EditError("A quantity cannot be negative")
        try:
            order_rules.check_keeps_brought_back(line.name, change.qty_milli,
                                                 line.refunded_qty_milli or 0)
        except RuleError as exc:
            raise EditError(str(exc)) from exc
        if line.product_id and change.qty_milli != line.qty_milli:
            m.session.add(StockMovement(
                id=new_id(), product_id=line.product_id, kind=stock_rules.SALE,
                qty_delta_milli=line.qty_milli - change.qty_milli, reason="order edited",
                reference=order.reference, order_id=order.id, actor_id=m.actor.staff_id,
                device_id=m.device.id, created_at=m.at, synced=True))
        if change.qty_milli == 0:
            order.lines.remove(line)
        else:
            line.qty_milli = change.qty_milli
    _add_lines(order, added or [], m)
    if not order.lines:
        raise EditError("An order keeps at least one line; ask for a deletion instead")
    _recompute(order)
    if order.total < order.paid:
        raise EditError("The order would cost less than was already paid; refund instead")
    return {
        "lines": {"base": base_lines, "value": [line_payload(li) for li in order.lines]},
        "total": {"base": base_total, "value": order.total},
    }
