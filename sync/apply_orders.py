"""Applying pulled orders and what hangs off them: lines, payments, refunds,
installments, and the approvals a deletion or refund waits on.

A run of order changes (:func:`apply_orders`; a first sync brings the store's whole
order history) writes the orders new to this till in a few statements; an order the
till holds already, or one with a customer or refunds, or one that shares a reference
or an id with another, goes alone through :func:`apply_order` (the ORM) after the
batch before it is written. The rows are built the same way on both paths
(``_order_fields``, ``_line_fields``, ``_payment``, ``_installment``).

Rules, and why (the general ones are in sync/apply.py):

- Payments are append-only: one already here is never touched again.
- An order's refunds made elsewhere are recorded once by id, with the refunded
  quantity on each line (so no till refunds more than was sold).
- Approvals are upserted by id (the approvals queue of every terminal shows the same
  requests); one whose order has not arrived yet is kept back until it does. A local
  decision not pushed yet (``approval.decide``, or ``order.delete`` / ``refund.create``
  naming the ``approval_id``) holds the approval back like any other pending edit.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.services.customers import CustomerDetails, upsert_in
from app.store.models import Installment, Order, OrderLine, Payment, Product
from app.store.models_aftersale import Approval, Refund, RefundLine
from app.store.rows import insert_rows, payment_row
from sync import state
from sync.apply_bulk import Inserts, Page
from sync.apply_bulk import present as held_ids
from sync.apply_context import ApplyContext, as_datetime, is_stale, stored_time
from sync.protocol import Change

REFUND_LINE_NS = uuid.UUID("a4f0c7de-2b61-4f1e-9c3a-7d5e8b9f0a12")
ORDER_FIELDS = ("store_id", "status", "currency", "tax_inclusive", "is_offline",
                "order_discount_percent_ppm", "order_discount_amount", "subtotal", "discount",
                "tax", "total", "paid", "refunded", "note", "deleted_reason")
LINE_FIELDS = ("name", "sku", "barcode", "unit_price", "qty_milli", "tax_rate_ppm",
               "discount_percent_ppm", "discount_amount", "gross", "net", "tax", "total")


def apply_order(s: Session, ctx: ApplyContext, c: Change) -> bool:
    """The order as the server has it now: its fields and lines set, payments, refunds
    and installments added once by id (what this till already holds is not repeated)."""
    d = c.data
    order = s.get(Order, c.entity_id)
    if order is not None and is_stale(order.version, c):
        return False
    customer_id = _customer_id(s, ctx, d.get("customer"))
    if order is None:
        order = _new_order(s, c)
    for name, value in _order_fields(c).items():
        setattr(order, name, value)
    order.device_id = d.get("device_id") or order.device_id or ""
    order.customer_id = customer_id or order.customer_id
    s.flush()
    _apply_lines(s, order, d.get("lines") or [])
    _apply_payments(s, order, d.get("payments") or [])
    s.flush()
    _apply_refunds(s, order, d.get("refunds") or [])
    _apply_installments(s, order, d.get("installments") or [])
    return True


def _order_fields(c: Change) -> dict[str, Any]:
    """The order columns a pulled change sets: those it names, its flags, time and version."""
    d = c.data
    return {name: d[name] for name in ORDER_FIELDS if name in d} | {
        "flags": list(d.get("flags") or []),
        "updated_at": as_datetime(d.get("updated_at")) or datetime.now(UTC),
        "version": c.version}


def _line_fields(li: dict[str, Any], pos: int, product_id: str | None) -> dict[str, Any]:
    """A pulled line's columns (``product_id``: the product if this till knows it)."""
    return {name: li.get(name) for name in LINE_FIELDS} | {
        "position": li.get("position", pos), "product_id": product_id}


def _payment(pay: dict[str, Any], order_id: str, created_by: str, device_id: str,
             created_at: datetime) -> dict[str, Any]:
    """A pulled payment's row; who, where and when default to the order's."""
    return payment_row(order_id, pay["method"], pay["amount"], payment_id=pay["id"],
                       tendered=pay.get("tendered"), change=pay.get("change", 0),
                       installment_id=pay.get("installment_id"),
                       actor_id=pay.get("actor_id") or created_by,
                       device_id=pay.get("device_id") or device_id,
                       created_at=as_datetime(pay.get("created_at")) or created_at)


def _installment(inst: dict[str, Any], order_id: str) -> dict[str, Any]:
    return {"id": inst["id"], "order_id": order_id, "number": inst["number"],
            "due_date": date.fromisoformat(str(inst["due_date"])), "amount": inst["amount"]}


def _has_customer(cust: Any) -> bool:
    return isinstance(cust, dict) and bool(cust.get("id") or cust.get("phone") or cust.get("name"))


def _customer_id(s: Session, ctx: ApplyContext, cust: Any) -> str | None:
    """The order's customer, found or added here (encrypted like one added at the till)."""
    if not _has_customer(cust):
        return None
    customer_id = upsert_in(s, ctx.cipher, CustomerDetails(
        cust.get("id"), cust.get("name"), cust.get("phone"), cust.get("email"))).id
    s.flush()
    return customer_id


def _new_order(s: Session, c: Change) -> Order:
    """An order first seen here; its reference made unique on this till if another has it."""
    d = c.data
    ref = d["reference"]
    if s.scalar(select(Order.id).where(Order.reference == ref)) is not None:
        ref = f"{ref}-{c.entity_id[-4:]}"  # the server flagged it duplicate_reference too
    order = Order(id=c.entity_id, reference=ref, created_by=d.get("created_by") or "",
                  created_at=as_datetime(d.get("created_at")) or datetime.now(UTC))
    s.add(order)
    return order


def _product_ref(s: Session, product_id: str | None) -> str | None:
    """The line's product if this till knows it (the foreign key needs it), else none."""
    return product_id if product_id and s.get(Product, product_id) is not None else None


def _apply_lines(s: Session, order: Order, lines: list[dict[str, Any]]) -> None:
    for pos, li in enumerate(lines):
        line = s.get(OrderLine, li["id"]) or OrderLine(id=li["id"], order_id=order.id)
        for name, value in _line_fields(li, pos, _product_ref(s, li.get("product_id"))).items():
            setattr(line, name, value)
        s.add(line)


def _apply_payments(s: Session, order: Order, payments: list[dict[str, Any]]) -> None:
    for pay in payments:
        if s.get(Payment, pay["id"]) is None:  # append-only
            s.add(Payment(**_payment(pay, order.id, order.created_by, order.device_id,
                                     order.created_at)))


def _apply_installments(s: Session, order: Order, installments: list[dict[str, Any]]) -> None:
    for inst in installments:
        if s.get(Installment, inst["id"]) is None:
            s.add(Installment(**_installment(inst, order.id)))


def _apply_refunds(s: Session, order: Order, refunds: list[dict[str, Any]]) -> None:
    """Refunds made on another terminal: recorded once by id, with the refunded quantities
    on the order's lines (so no till refunds more than was sold). Our own are already here."""
    for r in refunds:
        if not isinstance(r, dict) or not r.get("id") or s.get(Refund, r["id"]) is not None:
            continue
        approval_id = r.get("approval_id")  # kept when that approval is on this till
        if not isinstance(approval_id, str) or s.get(Approval, approval_id) is None:
            approval_id = None
        refund = Refund(id=r["id"], order_id=order.id, approval_id=approval_id, amount=r["amount"],
                        method=r.get("method") or "cash", restock=bool(r.get("restock")),
                        reason=r.get("reason") or "", requested_by=r.get("actor_id") or "",
                        approved_by=r.get("approved_by") or r.get("actor_id") or "",
                        created_at=as_datetime(r.get("created_at")) or datetime.now(UTC))
        for item in r.get("lines") or []:
            line = s.get(OrderLine, item.get("line_id"))
            if line is None or line.order_id != order.id:
                continue
            line.refunded_qty_milli = (line.refunded_qty_milli or 0) + int(item["qty_milli"])
            refund.lines.append(RefundLine(
                id=str(uuid.uuid5(REFUND_LINE_NS, f"{refund.id}/{line.id}")),
                order_line_id=line.id, qty_milli=int(item["qty_milli"]),
                amount=int(item.get("amount") or 0)))
        s.add(refund)


def apply_approval(s: Session, ctx: ApplyContext, c: Change) -> bool:
    """A deletion or refund request as the server has it, kept back until its order is here."""
    d = c.data
    approval = s.get(Approval, c.entity_id)
    if approval is not None and is_stale(approval.version, c):
        return False
    if s.get(Order, d.get("order_id")) is None:
        state.defer(s, c.entity_id, c.model_dump(mode="json"))  # its order comes later
        return False
    if approval is None:
        approval = Approval(id=c.entity_id)
        s.add(approval)
    approval.kind, approval.order_id = d["kind"], d["order_id"]
    approval.status = d.get("status") or "pending"
    approval.reason = d.get("reason") or ""
    approval.details = dict(d.get("details") or {})
    approval.requested_by = d.get("requested_by") or ""
    approval.requested_at = as_datetime(d.get("requested_at")) or datetime.now(UTC)
    approval.decided_by = d.get("decided_by")
    approval.decided_at = as_datetime(d.get("decided_at"))
    approval.decision_note = d.get("decision_note")
    approval.device_id = d.get("device_id") or c.origin_device_id or approval.device_id or ""
    approval.version = c.version
    return True


# ---------------------------------------------------------------- runs of orders


KIDS = ("lines", "payments", "installments")  # rows of an order, each with its own id


def _ids(c: Change, key: str) -> list[str]:
    return [str(x["id"]) for x in c.data.get(key) or [] if isinstance(x, dict) and "id" in x]


class _Held:
    """What a run of order changes finds already here, read in a few queries."""

    def __init__(self, s: Session, run: list[Change]) -> None:
        def present(model: Any, values: list[str], column: str = "id") -> set[str]:
            return held_ids(s, model.__table__, column, values)

        kids = {key: [i for c in run for i in _ids(c, key)] for key in KIDS}
        self.orders = present(Order, [c.entity_id for c in run])
        self.references = present(Order, [str(c.data.get("reference")) for c in run], "reference")
        self.children = (present(OrderLine, kids["lines"]) | present(Payment, kids["payments"])
                         | present(Installment, kids["installments"]))
        self.products = present(Product, [str(li.get("product_id")) for c in run
                                          for li in c.data.get("lines") or []])
        self.counts = Counter([c.entity_id for c in run]
                              + [str(c.data.get("reference")) for c in run]
                              + [i for ids in kids.values() for i in ids])

    def alone(self, c: Change, held: set[str]) -> bool:
        """Whether the change goes through :func:`apply_order` (see the module doc)."""
        d, ref = c.data, str(c.data.get("reference"))
        kids = [i for key in KIDS for i in _ids(c, key)]
        return (c.entity_id in held or c.entity_id in self.orders or "reference" not in d
                or ref in self.references or _has_customer(d.get("customer"))
                or bool(d.get("refunds")) or any(i in self.children for i in kids)
                or any(self.counts[i] > 1 for i in [c.entity_id, ref, *kids]))


ORDER_INSERT = Inserts(Order.__table__, (
    "id", "reference", "store_id", "device_id", "status", "is_offline", "customer_id", "currency",
    "tax_inclusive", "order_discount_percent_ppm", "order_discount_amount", "subtotal",
    "discount", "tax", "total", "paid", "refunded", "flags", "note", "deleted_reason",
    "created_by", "created_at", "updated_at", "version"))
LINE_INSERT = Inserts(OrderLine.__table__, (
    "id", "order_id", "position", "product_id", "sku", "name", "barcode", "unit_price",
    "qty_milli", "tax_rate_ppm", "discount_percent_ppm", "discount_amount", "gross", "net", "tax",
    "total", "refunded_qty_milli"))
PAYMENT_INSERT = Inserts(Payment.__table__, (
    "id", "order_id", "method", "amount", "tendered", "change", "installment_id", "actor_id",
    "device_id", "created_at"))


class _OrderBatch:
    """Rows of the new orders met so far, written with one INSERT per table: the rows of
    :func:`apply_order` (``_order_fields``, ``_line_fields``, ``_payment``: a field the
    change lacks takes the column's default where those leave it out), as tuples."""

    def __init__(self, held: _Held) -> None:
        self.held = held
        self.orders: list[tuple[Any, ...]] = []
        self.lines: list[tuple[Any, ...]] = []
        self.payments: list[tuple[Any, ...]] = []
        self.installments: list[dict[str, Any]] = []

    def add(self, c: Change, flags: Any) -> None:
        d, oid = c.data, c.entity_id
        get = d.get
        created_by, device_id = get("created_by") or "", get("device_id") or ""
        created = stored_time(get("created_at"))
        self.orders.append((
            oid, d["reference"], get("store_id"), device_id, get("status"), get("is_offline", True),
            None, get("currency"), get("tax_inclusive"), get("order_discount_percent_ppm", 0),
            get("order_discount_amount", 0), get("subtotal"), get("discount"), get("tax"),
            get("total"), get("paid", 0), get("refunded", 0), flags(list(get("flags") or [])),
            get("note"), get("deleted_reason"), created_by, created,
            stored_time(get("updated_at")), c.version))
        known = self.held.products
        for pos, li in enumerate(get("lines") or []):
            lg = li.get
            product = lg("product_id")
            self.lines.append((
                li["id"], oid, lg("position", pos), product if product and product in known else None,
                lg("sku"), lg("name"), lg("barcode"), lg("unit_price"), lg("qty_milli"),
                lg("tax_rate_ppm"), lg("discount_percent_ppm"), lg("discount_amount"), lg("gross"),
                lg("net"), lg("tax"), lg("total"), 0))
        for pay in get("payments") or []:
            pg = pay.get
            tendered = pg("tendered")
            self.payments.append((
                pay["id"], oid, pay["method"], pay["amount"],
                pay["amount"] if tendered is None else tendered, pg("change", 0),
                pg("installment_id"), pg("actor_id") or created_by, pg("device_id") or device_id,
                stored_time(pg("created_at")) if pg("created_at") else created))
        self.installments.extend(_installment(i, oid) for i in get("installments") or [])

    def write(self, page: Page) -> None:
        if not self.orders:
            return
        s = page.s
        s.flush()
        ORDER_INSERT.write(s, self.orders)
        LINE_INSERT.write(s, self.lines)
        PAYMENT_INSERT.write(s, self.payments)
        if self.installments:
            insert_rows(s, Installment, self.installments)
        self.orders, self.lines, self.payments, self.installments = [], [], [], []
        s.expunge_all()  # the per-change path must not read a stale object


def apply_orders(page: Page, run: list[Change]) -> None:
    """A run of order changes: the new ones in a batch, any other alone (module doc)."""
    page.s.flush()
    held = _Held(page.s, run)
    batch = _OrderBatch(held)
    dialect = page.s.get_bind().dialect
    flags = Order.__table__.c.flags.type.dialect_impl(dialect).bind_processor(dialect)
    for c in run:
        if held.alone(c, page.ctx.pending):
            batch.write(page)
            page.one(c)
            continue
        page.seen(c)
        batch.add(c, flags)
        page.ctx.applied += 1
    batch.write(page)
