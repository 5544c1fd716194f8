"""Full entity state as sent in the change feed and snapshots (plain JSON dicts)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain import stock_rules
from app.domain.feed_states import OrderLineState, OrderState, PaymentState
from server.db.models import (
    Approval,
    Conflict,
    Order,
    OrderLine,
    Payment,
    Product,
    Refund,
    Shift,
    Staff,
    StockLevel,
    StockMovement,
    StockReview,
    Store,
)


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# ------------------------------------------------------------------ orders
# An order's feed state is declared once, by its model (app/domain/feed_states.py:
# OrderState, OrderLineState, PaymentState), and built here only: the ORM handlers from
# rows they load, the order.create decision (server/sync/order_decision.py) from the
# values it is about to write, both through order_state_of, line_state_of and
# payment_state_of. A datetime field is sent as its ISO text.

_NESTED = ("lines", "payments", "refunds")


def _names(model: type[BaseModel], without: tuple[str, ...] = ()) -> tuple[str, ...]:
    return tuple(name for name in model.model_fields if name not in without)


def _times(model: type[BaseModel]) -> tuple[str, ...]:
    return tuple(name for name, f in model.model_fields.items()
                 if f.annotation in (datetime, datetime | None))


ORDER_STATE_FIELDS = _names(OrderState, _NESTED)
ORDER_STATE_TIMES = _times(OrderState)
LINE_STATE_FIELDS = _names(OrderLineState)
PAYMENT_STATE_FIELDS = _names(PaymentState)
PAYMENT_STATE_TIMES = _times(PaymentState)


def order_state_of(order: Mapping[str, Any], lines: list[dict[str, Any]],
                   payments: list[dict[str, Any]], refunds: list[dict[str, Any]]
                   ) -> dict[str, Any]:
    """An order's state from its values (a row, or an ORM object's attributes) and the
    states of its lines, payments (by created_at, id) and refunds (by created_at)."""
    state = {name: order[name] for name in ORDER_STATE_FIELDS}
    for name in ORDER_STATE_TIMES:
        state[name] = iso(state[name])
    state["lines"] = lines
    state["payments"] = payments
    state["refunds"] = refunds
    return state


def line_state_of(line: Mapping[str, Any]) -> dict[str, Any]:
    return {name: line[name] for name in LINE_STATE_FIELDS}


def payment_state_of(payment: Mapping[str, Any]) -> dict[str, Any]:
    state = {name: payment[name] for name in PAYMENT_STATE_FIELDS}
    for name in PAYMENT_STATE_TIMES:
        state[name] = iso(state[name])
    return state


def _attrs(row: object, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(row, name) for name in names}


def line_state(line: OrderLine) -> dict[str, Any]:
    return line_state_of(_attrs(line, LINE_STATE_FIELDS))


def payment_state(p: Payment) -> dict[str, Any]:
    return payment_state_of(_attrs(p, PAYMENT_STATE_FIELDS))


def refund_state(r: Refund, approval_id: str | None = None) -> dict[str, Any]:
    """A refund; ``approval_id`` is the approval it carried out (see refund_approvals)."""
    return {
        "id": r.id, "order_id": r.order_id, "amount": r.amount, "method": r.method,
        "restock": r.restock, "reason": r.reason, "lines": r.lines,
        "approved_by": r.approved_by, "approval_id": approval_id, "actor_id": r.actor_id,
        "created_at": iso(r.created_at),
    }


def refund_approvals(session: Session, order_id: str) -> dict[str, str]:
    """{refund id: approval id} of an order's refunds that carried out an approval.

    The refunds table has no approval column: a refund approval records the refund it
    was carried out as in ``details.refund_id`` (server/sync/orders.py ``link_approval``)."""
    rows = session.execute(
        select(Approval.id, Approval.details)
        .where(Approval.order_id == order_id, Approval.kind == "refund")
        .order_by(Approval.requested_at, Approval.id)
    ).all()
    return {d["refund_id"]: approval_id for approval_id, d in rows
            if isinstance(d, dict) and isinstance(d.get("refund_id"), str)}


def refund_state_of(session: Session, r: Refund) -> dict[str, Any]:
    """One refund with the approval it carried out."""
    return refund_state(r, refund_approvals(session, r.order_id).get(r.id))


def order_state(session: Session, order: Order) -> dict[str, Any]:
    """An order with its lines, payments and refunds."""
    lines = session.scalars(
        select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.position)
    ).all()
    payments = session.scalars(
        select(Payment).where(Payment.order_id == order.id).order_by(Payment.created_at, Payment.id)
    ).all()
    refunds = session.scalars(
        select(Refund).where(Refund.order_id == order.id).order_by(Refund.created_at)
    ).all()
    approved = refund_approvals(session, order.id) if refunds else {}
    return order_state_of(_attrs(order, ORDER_STATE_FIELDS),
                          [line_state(li) for li in lines],
                          [payment_state(p) for p in payments],
                          [refund_state(r, approved.get(r.id)) for r in refunds])


PRODUCT_FIELDS = (
    "sku", "name", "category", "price", "tax_rate_ppm", "barcodes", "active",
    "stock_tracked", "reorder_level_milli", "sold_by_weight",
)


def product_state(p: Product) -> dict[str, Any]:
    data: dict[str, Any] = {"id": p.id, "org_id": p.org_id}
    data.update({name: getattr(p, name) for name in PRODUCT_FIELDS})
    data.update({"deleted": p.deleted, "version": p.version, "updated_at": iso(p.updated_at)})
    return data


def staff_state(s: Staff) -> dict[str, Any]:
    """Staff as terminals see them: no password hash; the argon2 PIN hash for offline sign-in."""
    return {
        "id": s.id, "org_id": s.org_id, "name": s.name, "code": s.code, "role": s.role,
        "active": s.active,
        "pin_hash": s.pin_hash, "version": s.version, "updated_at": iso(s.updated_at),
        "approval_salt": s.approval_salt,  # the approver proof's key salt (never the key)
    }


MOVEMENT_ROW_FIELDS = ("id", "store_id", "product_id", "kind", "qty_delta_milli",
                       "qty_after_milli", "reason", "reference", "actor_id", "device_id",
                       "created_at")


def movement_state_of(m: Mapping[str, Any]) -> dict[str, Any]:
    """A stock movement's state from its row's values (``qty_after_milli`` is sent as
    ``qty_on_hand_milli``)."""
    return {
        "id": m["id"], "store_id": m["store_id"], "product_id": m["product_id"],
        "kind": m["kind"], "qty_delta_milli": m["qty_delta_milli"],
        "qty_on_hand_milli": m["qty_after_milli"], "reason": m["reason"],
        "reference": m["reference"], "actor_id": m["actor_id"], "device_id": m["device_id"],
        "created_at": iso(m["created_at"]),
    }


def movement_state(m: StockMovement) -> dict[str, Any]:
    return movement_state_of(_attrs(m, MOVEMENT_ROW_FIELDS))


def stock_level_state(level: StockLevel) -> dict[str, Any]:
    return {"store_id": level.store_id, "product_id": level.product_id,
            "qty_on_hand_milli": level.qty_milli}


def conflict_state(c: Conflict) -> dict[str, Any]:
    return {
        "id": c.id, "store_id": c.store_id, "entity_type": c.entity_type,
        "entity_id": c.entity_id, "kind": c.kind, "op_id": c.op_id, "op_type": c.op_type,
        "device_id": c.device_id, "actor_id": c.actor_id, "fields": c.fields,
        "status": c.status, "resolution": c.resolution, "resolved_by": c.resolved_by,
        "resolved_at": iso(c.resolved_at), "created_at": iso(c.created_at),
        "version": c.version,
    }


STORE_SETTINGS = ("name", "address", "tax_id", "currency", "locale", "tax_inclusive",
                  "receipt_footer")


def store_state(store: Store) -> dict[str, Any]:
    """The store's settings as terminals keep them (receipt header, currency, tax mode)."""
    data: dict[str, Any] = {"id": store.id, "org_id": store.org_id}
    data.update({name: getattr(store, name) for name in STORE_SETTINGS})
    data["till_limits"] = store.till_limits
    data["recount_share_ppm"] = (store.recount_share_ppm if store.recount_share_ppm is not None
                                 else stock_rules.DEFAULT_RECOUNT_SHARE_PPM)
    data["version"] = store.version
    return data


def stock_review_state(r: StockReview) -> dict[str, Any]:
    """An accepted item of the store's reconciliation list (StockReviewState)."""
    return {"id": r.id, "store_id": r.store_id, "key": r.key, "kind": r.kind,
            "product_id": r.product_id, "note": r.note, "accepted_by": r.accepted_by,
            "accepted_at": iso(r.accepted_at), "device_id": r.device_id, "version": r.version}


def approval_state(a: Approval) -> dict[str, Any]:
    return {
        "id": a.id, "store_id": a.store_id, "kind": a.kind, "order_id": a.order_id,
        "status": a.status, "reason": a.reason, "details": a.details,
        "requested_by": a.requested_by, "requested_at": iso(a.requested_at),
        "device_id": a.device_id, "decided_by": a.decided_by, "decided_at": iso(a.decided_at),
        "decision_note": a.decision_note, "version": a.version,
    }


def shift_state(sh: Shift) -> dict[str, Any]:
    """A till's shift as the feed carries it (app/domain/feed_states.py ShiftState)."""
    return {
        "id": sh.id, "store_id": sh.store_id, "terminal_id": sh.terminal_id,
        "status": sh.status, "opened_by": sh.opened_by, "opened_at": iso(sh.opened_at),
        "opening_float": sh.opening_float, "float_counted": sh.float_counted,
        "closed_by": sh.closed_by, "closed_at": iso(sh.closed_at),
        "counted_cash": sh.counted_cash, "expected_cash": sh.expected_cash,
        "over_short": sh.over_short, "close_reason": sh.close_reason, "version": sh.version,
        "z_number": sh.z_number, "counted_by_denomination": sh.counted_by_denomination,
        "card_batch_total": sh.card_batch_total, "approved_by": sh.approved_by,
        "report": sh.report,
    }
