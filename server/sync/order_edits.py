"""order.update (field-level merge) and order.delete (owner/admin/manager only)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from app.domain import order_balance, order_rules
from app.domain.operations import Entity, OpType
from app.domain.order_status import OrderStatus, is_editable
from app.domain.permissions import Action
from app.domain.totals import Discount, DiscountError, compute
from server.db.base import utcnow
from server.db.models import Order, OrderLine
from server.feed.serialize import line_state
from server.sync import order_limits
from server.sync.common import OpContext, Outcome, Rejected, jsonable
from server.sync.merge import merge_fields, record_conflict
from server.sync.order_decision import check_line_signs, line_ids_taken, line_inputs
from server.sync.orders import (
    flag,
    load_order,
    publish_order,
    refunded_quantities,
    returned_of,
    rules,
    used_line_ids,
)
from sync.payloads import EntityUpdate, InstallmentData, OrderDelete, OrderLineData
from sync.protocol import OpStatus

EDITABLE = (
    "note", "customer", "lines", "order_discount_percent_ppm", "order_discount_amount",
    "installments",
)
LINE_INPUT_KEYS = (
    "id", "product_id", "sku", "name", "barcode", "unit_price", "qty_milli", "tax_rate_ppm",
    "discount_percent_ppm", "discount_amount",
)
LINE_DEFAULTS = {"discount_percent_ppm": 0, "discount_amount": 0}


def current_fields(oc_session: Any, order: Order) -> dict[str, Any]:
    lines = oc_session.scalars(
        select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.position)
    ).all()
    return {
        "note": order.note, "customer": order.customer,
        "lines": [line_state(li) for li in lines],
        "order_discount_percent_ppm": order.order_discount_percent_ppm,
        "order_discount_amount": order.order_discount_amount,
        "installments": order.installments,
    }


def normalize(name: str, value: Any) -> Any:
    """Lines compare on what a person entered, not on derived amounts."""
    if name == "lines" and isinstance(value, list):
        return [
            {k: li.get(k, LINE_DEFAULTS.get(k)) for k in LINE_INPUT_KEYS}
            if isinstance(li, dict) else li
            for li in value
        ]
    if name == "customer" and isinstance(value, dict):
        return {k: v for k, v in value.items() if v is not None}
    return value


def _installments(values: dict[str, Any]) -> list[InstallmentData] | None:
    if "installments" not in values:
        return None
    try:
        return [InstallmentData.model_validate(i) for i in values["installments"] or []]
    except Exception as exc:
        raise Rejected("the edited installments are not valid: each needs id, number, "
                       "due_date and amount") from exc


def _check_schedule(order: Order, old_total: int, new: list[InstallmentData] | None) -> None:
    """An edited order's schedule still adds up to what is owed after the down payment:
    the down payment is the total less the old schedule (or, without one, what has
    been collected so far)."""
    old = [i for i in order.installments or [] if isinstance(i, dict)]
    if new is None and (not old or order.total == old_total):
        return
    if new is None:
        new = [InstallmentData.model_validate(i) for i in old]
    down = (old_total - sum(int(i.get("amount", 0)) for i in old) if old
            else order_rules.collected(order.paid, order.refunded))
    with rules():
        order_rules.check_schedule(order.total - down, new, order.currency)


def _apply(oc: OpContext, order: Order, values: dict[str, Any]) -> None:
    """Write the merged fields; lines or discounts changed -> totals recomputed. The
    lines, discounts and schedule pass the shared order rules (a rule broken rejects)."""
    old_total = order.total
    if "note" in values:
        with rules():
            order_rules.check_note(values["note"])
    installments = _installments(values)
    _recompute(oc, order, values)
    _check_schedule(order, old_total, installments)
    for name in ("note", "customer", "order_discount_percent_ppm", "order_discount_amount",
                 "installments"):
        if name in values:
            setattr(order, name, jsonable(values[name]))


def _edited_lines(oc: OpContext, order: Order, values: dict[str, Any]) -> list[OrderLineData]:
    if "lines" in values:
        try:
            return [OrderLineData.model_validate(li) for li in values["lines"] or []]
        except Exception as exc:
            raise Rejected("the edited lines are not valid: each needs id, name, unit_price, "
                           "qty_milli, tax_rate_ppm and its amounts as whole numbers") from exc
    return [OrderLineData.model_validate(line_state(li)) for li in oc.session.scalars(
        select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.position))]


def _check_brought_back(oc: OpContext, order: Order, lines: list[OrderLineData]) -> None:
    """Each line refunds took goods back from keeps at least that quantity (a line left
    out: 0), as the till's edit checks (order_rules.check_keeps_brought_back)."""
    back = refunded_quantities(oc.session, order.id)
    if not back:
        return
    edited = {li.id: li.qty_milli for li in lines}
    names: dict[str, str] = {line_id: name for line_id, name in oc.session.execute(
        select(OrderLine.id, OrderLine.name).where(OrderLine.order_id == order.id))}
    for line_id, qty in back.items():
        if line_id in names:  # (a line an edit removed before this rule: nothing to keep)
            order_rules.check_keeps_brought_back(names[line_id], edited.get(line_id, 0), qty)


def _recompute(oc: OpContext, order: Order, values: dict[str, Any]) -> None:
    if not {"lines", "order_discount_percent_ppm", "order_discount_amount"} & values.keys():
        return
    lines = _edited_lines(oc, order, values)
    disc_ppm = values.get("order_discount_percent_ppm", order.order_discount_percent_ppm)
    disc_amount = values.get("order_discount_amount", order.order_discount_amount)
    with rules():
        order_rules.check_lines(lines)
        check_line_signs(lines)  # as a sale's: a return is a refund, never a price below 0
        _check_brought_back(oc, order, lines)
        order_rules.check_order_amounts({}, discount_ppm=disc_ppm, discount_amount=disc_amount)
    try:
        totals = compute(line_inputs(lines), Discount(disc_ppm, disc_amount),
                         inclusive=order.tax_inclusive)
    except DiscountError as exc:
        raise Rejected(f"the edited discounts are not valid: {exc}") from exc
    # the editor's till limits, on what the edit adds (server/sync/order_limits.py)
    order_limits.check_edit(
        oc.session, order.store_id, oc.actor, inclusive=order.tax_inclusive,
        before=_edited_lines(oc, order, {}),
        before_discount=Discount(order.order_discount_percent_ppm, order.order_discount_amount),
        after=lines, after_discount=Discount(disc_ppm, disc_amount))
    with rules():
        order_rules.check_order_amounts({"subtotal": totals.subtotal, "total": totals.total})
    oc.session.execute(delete(OrderLine).where(OrderLine.order_id == order.id))
    if taken := used_line_ids(oc, [li.id for li in lines]):  # by another order
        raise line_ids_taken(taken)
    for pos, (li, lt) in enumerate(zip(lines, totals.lines, strict=True)):
        data = li.model_dump()
        data.update(gross=lt.gross, net=lt.net, tax=lt.tax, total=lt.total)
        oc.session.add(OrderLine(order_id=order.id, position=pos, **data))
    order.subtotal, order.discount = totals.subtotal, totals.discount
    order.tax, order.total = totals.tax, totals.total
    oc.session.flush()  # (the new lines, for the value of the goods brought back)
    returned = returned_of(oc.session, order)
    if order_balance.owed(order.total, order.paid, order.refunded, returned) < 0:
        flag(oc, "overpaid")
    order.status = order_rules.next_status(order.status, order.total, order.paid,
                                           order.refunded, returned).value


def order_update(oc: OpContext) -> Outcome:
    oc.require(Action.ORDER_EDIT)
    p = oc.payload_as(EntityUpdate)
    unknown = set(p.fields) - set(EDITABLE)
    if unknown:
        raise Rejected(f"these order fields cannot be edited: {', '.join(sorted(unknown))}")
    if not p.fields:
        raise Rejected("an order.update must change at least one field")
    order = load_order(oc, oc.op.entity_id)
    current = current_fields(oc.session, order)
    status = OrderStatus(order.status)
    if not is_editable(status):
        kind = "edit_of_deleted" if status is OrderStatus.DELETED else "edit_of_completed"
        both = {n: {"base": e.base, "server": current[n], "terminal": e.value}
                for n, e in p.fields.items()}
        conflict = record_conflict(oc, Entity.ORDER, order.id, kind, both, store_id=order.store_id)
        return Outcome(OpStatus.CONFLICT, order.version,
                       reason=f"the order is {status.value} on the server", conflict_id=conflict.id)
    to_apply, conflicts = merge_fields(current, p.fields, normalize)
    if to_apply:
        before = {n: current[n] for n in to_apply}
        _apply(oc, order, to_apply)
        order.version += 1
        order.updated_at = utcnow()
        oc.audit(Entity.ORDER, order.id, OpType.ORDER_UPDATE,
                 {n: {"before": before[n], "after": to_apply[n]} for n in to_apply},
                 reason=p.reason, store_id=order.store_id)
        state = publish_order(oc, order)
        oc.emit("offline_order.updated", state)
    if conflicts:
        conflict = record_conflict(oc, Entity.ORDER, order.id, "field_conflict", conflicts,
                                   store_id=order.store_id)
        names = ", ".join(sorted(conflicts))
        if to_apply:
            flag(oc, "partially_applied")
        return Outcome(OpStatus.CONFLICT, order.version, flags=list(oc.flags),
                       reason=f"changed on the server too: {names}", conflict_id=conflict.id)
    if not to_apply:
        flag(oc, "no_change")
    return Outcome(OpStatus.APPLIED, order.version, flags=list(oc.flags))


def order_delete(oc: OpContext) -> Outcome:
    """Delete a pending order (soft): the actor must be allowed to do order.delete."""
    p = oc.payload_as(OrderDelete)
    return delete_in(oc, oc.op.entity_id, p.reason, p.approved_by, p.approval_id)


def delete_in(oc: OpContext, order_id: str, reason: str, approved_by: str | None,
              approval_id: str | None) -> Outcome:
    from server.sync.approvals import settle

    oc.require(Action.ORDER_DELETE)
    if not reason.strip():
        raise Rejected("a deletion needs a reason")
    order = load_order(oc, order_id)
    status = OrderStatus(order.status)
    if status is OrderStatus.DELETED:
        settle(oc, approval_id, "delete", order.id)
        return Outcome(OpStatus.APPLIED, order.version,
                       flags=list(dict.fromkeys(["already_deleted", *oc.flags])))
    if status is not OrderStatus.PENDING:
        both = {"status": {"base": OrderStatus.PENDING.value, "server": status.value,
                           "terminal": OrderStatus.DELETED.value},
                "reason": {"base": None, "server": None, "terminal": reason}}
        conflict = record_conflict(oc, Entity.ORDER, order.id, "delete_of_completed", both,
                                   store_id=order.store_id)
        settle(oc, approval_id, "delete", order.id)
        return Outcome(OpStatus.CONFLICT, order.version, conflict_id=conflict.id,
                       reason=f"the order is {status.value}; correct it with a refund",
                       flags=list(oc.flags))
    with rules():  # money collected on a pending order is refunded first
        order_rules.check_deletable(status, order.paid, order.refunded, order.currency)
    order.status = OrderStatus.DELETED.value
    order.deleted_reason = reason
    order.deleted_by = oc.actor.id
    order.version += 1
    order.updated_at = utcnow()
    oc.audit(Entity.ORDER, order.id, OpType.ORDER_DELETE,
             {"status": {"before": status.value, "after": order.status},
              "approved_by": approved_by, "approval_id": approval_id},
             reason=reason, store_id=order.store_id)
    state = publish_order(oc, order)
    oc.emit("offline_order.deleted", state)
    settle(oc, approval_id, "delete", order.id)
    return Outcome(OpStatus.APPLIED, order.version, flags=list(oc.flags))
