"""Recording a walk-in sale and later payments: one mutation each, durable on return.

A sale is recorded whole or not at all: order, lines, payments, stock movements,
customer, audit entry and the ``order.create`` outbox operation share one SQLite
transaction with ``synchronous=FULL``. When :func:`record_sale` returns, the sale
survives a power cut; printing happens only afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from app.domain import order_rules, stock_rules
from app.domain.cart import Cart
from app.domain.ids import new_id, order_reference
from app.domain.operations import OpType
from app.domain.order_rules import RuleError
from app.domain.order_status import OrderStatus, check_transition, status_for_balance
from app.domain.payloads import (
    CustomerData,
    InstallmentData,
    OrderCreate,
    OrderLineData,
    PaymentData,
    PriceOverride,
)
from app.domain.permissions import Action, require
from app.domain.schedule import PaymentPlan
from app.domain.tender import AppliedTender, Tender, TenderError, apply_tenders
from app.services import shifts, till_limits
from app.services.customers import CustomerDetails, decrypt, details_problem, upsert_in
from app.store.local import LocalStore
from app.store.models import Installment, Order, OrderLine, Payment, StockMovement
from app.store.rows import payment_row
from app.store.unit_of_work import Actor, Mutation, mutation

#: The audit action of a sale (its operation is ``OpType.ORDER_CREATE``).
SALE_RECORDED = "sale.record"


class SaleError(ValueError):
    """A sale that cannot be recorded as asked; the message is for the cashier."""


@dataclass(frozen=True)
class SaleResult:
    order_id: str
    reference: str
    total: int
    paid: int
    change: int
    status: OrderStatus
    cash_tendered: bool


def _tender_row(m: Mutation, order_id: str, t: AppliedTender,
                installment_id: str | None = None) -> dict:
    """The payments row of a tender taken in this mutation (by its actor, on this till)."""
    return payment_row(order_id, t.method.value, t.amount, tendered=t.tendered, change=t.change,
                       installment_id=installment_id, actor_id=m.actor.staff_id,
                       device_id=m.device.id, created_at=m.at)


def payment_payload(p: Payment) -> PaymentData:
    return PaymentData(id=p.id, order_id=p.order_id, method=p.method, amount=p.amount,
                       tendered=p.tendered, change=p.change, installment_id=p.installment_id,
                       created_at=p.created_at)


def line_payload(li: OrderLine) -> dict:
    return {"id": li.id, "product_id": li.product_id, "sku": li.sku, "name": li.name,
            "barcode": li.barcode, "unit_price": li.unit_price, "qty_milli": li.qty_milli,
            "tax_rate_ppm": li.tax_rate_ppm, "discount_percent_ppm": li.discount_percent_ppm,
            "discount_amount": li.discount_amount, "gross": li.gross, "net": li.net,
            "tax": li.tax, "total": li.total}


def _line_rows(order_id: str, cart: Cart, totals) -> list[dict]:
    return [
        {"id": cl.id, "order_id": order_id, "position": pos, "product_id": cl.product_id,
         "sku": cl.sku, "name": cl.name, "barcode": cl.barcode, "unit_price": cl.unit_price,
         "qty_milli": cl.qty_milli, "tax_rate_ppm": cl.tax_rate_ppm,
         "discount_percent_ppm": cl.discount.percent_ppm, "discount_amount": cl.discount.amount,
         "gross": lt.gross, "net": lt.net, "tax": lt.tax, "total": lt.total, "refunded_qty_milli": 0}
        for pos, (cl, lt) in enumerate(zip(cart.lines, totals.lines, strict=True))
    ]


_LINE_PAYLOAD_KEYS = ("id", "product_id", "sku", "name", "barcode", "unit_price", "qty_milli",
                      "tax_rate_ppm", "discount_percent_ppm", "discount_amount", "gross", "net",
                      "tax", "total")
_PAYMENT_PAYLOAD_KEYS = ("id", "order_id", "method", "amount", "tendered", "change", "installment_id",
                         "created_at")


def _negative_stock_flags(m: Mutation, sold: dict[str, int]) -> list[str]:
    """Products this sale takes below zero: flagged for stock staff, never a refused sale.

    ``sold`` is milli-units per product id, not yet written: on hand after the sale is
    the ledger's sum now minus what this sale takes (read under the write lock)."""
    if not sold:
        return []
    ids = sorted(sold)
    rows = m.cursor.execute(
        "SELECT p.id, p.sku, (SELECT coalesce(sum(sm.qty_delta_milli), 0) FROM stock_movements sm "
        "WHERE sm.product_id = p.id) FROM products p "
        f"WHERE p.id IN ({', '.join('?' for _ in ids)}) AND p.stock_tracked ORDER BY p.id",
        ids,
    ).fetchall()
    return [f"negative_stock:{sku}" for pid, sku, on_hand in rows if on_hand - sold[pid] < 0]


def _installment_rows(order_id: str, plan: PaymentPlan | None) -> list[dict]:
    if plan is None:
        return []
    return [{"id": new_id(), "order_id": order_id, "number": i.number, "due_date": i.due_date,
             "amount": i.amount} for i in plan.installments]


def _check_discounts(actor: Actor, cart: Cart) -> None:
    if any(not li.discount.is_zero for li in cart.lines):
        require(actor.role, Action.SALE_LINE_DISCOUNT)
    if not cart.order_discount.is_zero:
        require(actor.role, Action.SALE_ORDER_DISCOUNT)


def _check_sale(cart: Cart, totals, applied: list[AppliedTender], plan: PaymentPlan | None) -> None:  # noqa: ANN001
    """The shared money and order rules the server checks again (app/domain/order_rules.py)."""
    rows = _line_rows("", cart, totals)
    try:
        order_rules.check_lines([_LineView(r) for r in rows], derived=[
            {k: r[k] for k in ("gross", "net", "tax", "total")} for r in rows])
        order_rules.check_order_amounts({"subtotal": totals.subtotal, "discount": totals.discount,
                                         "tax": totals.tax, "total": totals.total})
        paid = 0
        for t in applied:
            order_rules.check_payment(t.amount, t.method.value, tendered=t.tendered, change=t.change)
            order_rules.check_sum(paid, t.amount, "The payments on this order")
            paid += t.amount
        if plan is not None:
            order_rules.check_schedule(totals.total - paid, plan.installments)
    except RuleError as exc:
        raise SaleError(str(exc)) from exc


def _check_texts(note: str | None, customer: CustomerDetails | None) -> None:
    """The note and the customer's details fit their fields (the payload's bounds)."""
    try:
        order_rules.check_note(note)
    except RuleError as exc:
        raise SaleError(str(exc)) from exc
    problem = details_problem(customer) if customer is not None else None
    if problem:
        raise SaleError(problem)


class _LineView:
    """A line row (dict) seen as the rules' LineLike."""

    def __init__(self, row: dict) -> None:
        self.id: str = row["id"]
        self.unit_price: int = row["unit_price"]
        self.qty_milli: int = row["qty_milli"]
        self.tax_rate_ppm: int = row["tax_rate_ppm"]
        self.discount_percent_ppm: int = row["discount_percent_ppm"]
        self.discount_amount: int = row["discount_amount"]


def record_sale(
    store: LocalStore,
    actor: Actor,
    cart: Cart,
    tenders: list[Tender],
    customer: CustomerDetails | None = None,
    note: str | None = None,
    plan: PaymentPlan | None = None,
    approver: Actor | None = None,
) -> SaleResult:
    """Record the cart as an order with its payments. Partial payment leaves it pending.

    Selling needs an open shift on this till: with none, the store's ``auto_open_shift``
    opens one with a zero float first (app/services/shifts.require_open), else
    shifts.NoOpenShift.

    A discount or price past the actor's till limits needs ``approver``, a manager who
    typed their PIN (an Actor with ``approval_key``): the sale then names them as
    ``approved_by`` and carries their proof (app/services/till_limits.py).

    With a payment plan, the tenders are its down payment and the installments are
    recorded with the order; the order stays pending until the plan is paid off.

    The rows (order, lines, payments, stock movements) are written with one compiled
    INSERT per table (:meth:`Mutation.insert`), not an ORM flush: the same
    rows in the same ``BEGIN IMMEDIATE`` transaction, a few milliseconds less Python.
    """
    require(actor.role, Action.SALE_CREATE)
    if cart.is_empty:
        raise SaleError("The cart is empty")
    _check_discounts(actor, cart)
    try:
        needs_approver = till_limits.check_sale(store, actor, approver, cart)
    except till_limits.TillLimitError as exc:
        raise SaleError(str(exc)) from exc
    approved_by = approver.staff_id if needs_approver and approver is not None else None
    totals = cart.totals()
    total = totals.total
    if plan is not None and plan.total != total:
        raise SaleError("The payment plan was made for a different total; make it again")
    # With a plan, today's tenders settle the down payment (cash over it gives change).
    due_now = plan.down_payment if plan is not None else total
    try:
        applied = apply_tenders(due_now, tenders) if tenders else []
    except TenderError as exc:
        raise SaleError(str(exc)) from exc
    if plan is not None and sum(t.amount for t in applied) != plan.down_payment:
        raise SaleError("Take the whole down payment before the installments")
    _check_sale(cart, totals, applied, plan)
    _check_texts(note, customer)
    if plan is not None:
        try:
            order_rules.check_plan_customer(plan.installments, customer)
        except RuleError as exc:
            raise SaleError(str(exc)) from exc
    shifts.require_open(store, actor)  # last: a sale refused above opens no shift
    with mutation(store.db, store.device_id, actor, SALE_RECORDED) as m:
        shifts.still_open(m)
        m.approver = approver if approved_by else None
        session, device, at = m.session, m.device, m.at
        cust = upsert_in(session, store.cipher, customer) if customer else None
        if cust is not None:
            session.flush()  # the order row refers to the customer row
        # Read in the mutation's own transaction: no second connection per sale.
        currency = m.cursor.execute("SELECT currency FROM store_settings LIMIT 1").fetchone()[0]
        device.order_counter += 1
        order_id = new_id()
        reference = order_reference(device.code, device.order_counter)
        paid = sum(t.amount for t in applied)
        status = status_for_balance(total, paid).value
        lines = _line_rows(order_id, cart, totals)
        sold: dict[str, int] = {}
        for li in lines:
            if li["product_id"] is not None:
                sold[li["product_id"]] = sold.get(li["product_id"], 0) + li["qty_milli"]
        flags = _negative_stock_flags(m, sold)
        payments = [_tender_row(m, order_id, t) for t in applied]
        movements = [
            {"id": new_id(), "product_id": li["product_id"], "kind": stock_rules.SALE,
             "qty_delta_milli": -li["qty_milli"], "reason": None, "reference": reference,
             "order_id": order_id, "actor_id": actor.staff_id, "device_id": device.id,
             "created_at": at, "synced": True}
            for li in lines if li["product_id"] is not None
        ]
        m.insert(Order, ({
            "id": order_id, "reference": reference, "store_id": device.store_id,
            "device_id": device.id, "status": status, "is_offline": True,
            "customer_id": cust.id if cust else None, "currency": currency,
            "tax_inclusive": cart.tax_inclusive,
            "order_discount_percent_ppm": cart.order_discount.percent_ppm,
            "order_discount_amount": cart.order_discount.amount, "subtotal": totals.subtotal,
            "discount": totals.discount, "tax": totals.tax, "total": total, "paid": paid,
            "refunded": 0, "flags": flags, "note": note, "deleted_reason": None,
            "created_by": actor.staff_id, "created_at": at, "updated_at": at, "version": 0,
        },))
        m.insert(OrderLine, lines)
        m.insert(Payment, payments)
        m.insert(StockMovement, movements)
        installments = _installment_rows(order_id, plan)
        m.insert(Installment, installments)
        m.audit("order", order_id, {
            "reference": {"before": None, "after": reference},
            "status": {"before": None, "after": status},
            "total": {"before": None, "after": total},
            "paid": {"before": None, "after": paid},
            "lines": {"before": None, "after": len(lines)},
        } | ({"installments": {"before": None, "after": [
            {"due": i["due_date"].isoformat(), "amount": i["amount"]} for i in installments]}}
            if installments else {}), reason=note)
        m.emit(OpType.ORDER_CREATE, order_id, OrderCreate(
            reference=reference, store_id=device.store_id, currency=currency,
            tax_inclusive=cart.tax_inclusive, is_offline=True,
            customer=CustomerData(id=cust.id, name=customer.name, phone=customer.phone,
                                  email=customer.email) if customer and cust else None,
            lines=[OrderLineData(**{k: li[k] for k in _LINE_PAYLOAD_KEYS}) for li in lines],
            order_discount_percent_ppm=cart.order_discount.percent_ppm,
            order_discount_amount=cart.order_discount.amount, subtotal=totals.subtotal,
            discount=totals.discount, tax=totals.tax, total=total,
            payments=[PaymentData(**{k: p[k] for k in _PAYMENT_PAYLOAD_KEYS}) for p in payments],
            installments=[InstallmentData(id=i["id"], number=i["number"], due_date=i["due_date"],
                                          amount=i["amount"]) for i in installments],
            created_at=at, note=note, approved_by=approved_by,
            price_overrides=[PriceOverride(line_id=cl.id, list_price=cl.list_price)
                             for cl in cart.lines
                             if cl.list_price is not None and cl.list_price != cl.unit_price],
        ))
        change = sum(t.change for t in applied)
        return SaleResult(order_id, reference, total, paid, change, OrderStatus(status),
                          any(t.method.value == "cash" for t in applied))


def record_payment(
    store: LocalStore, actor: Actor, order_id: str, tender: Tender, installment_id: str | None = None
) -> SaleResult:
    """Take a further payment on a pending order (an installment, or paying off a balance).

    Money taken goes into a shift, like a sale's: with none open, the store's
    ``auto_open_shift`` opens one (else shifts.NoOpenShift), so no payment falls between two Z
    reports and out of every cash-up."""
    require(actor.role, Action.PAYMENT_RECORD)
    shifts.require_open(store, actor)
    with mutation(store.db, store.device_id, actor, OpType.PAYMENT_RECORD) as m:
        shifts.still_open(m)
        order = m.session.get(Order, order_id)
        if order is None:
            raise SaleError("Order not found")
        try:
            order_rules.check_takes_payment(order.status, order.reference)
        except RuleError as exc:
            raise SaleError(str(exc)) from exc
        if order.status != OrderStatus.PENDING.value:
            raise SaleError(f"Order {order.reference} is {order.status}; nothing is due")
        try:
            (applied,) = apply_tenders(order.balance, [tender])
            order_rules.check_payment(applied.amount, applied.method.value,
                                      tendered=applied.tendered, change=applied.change)
            order_rules.check_sum(order.paid, applied.amount, "The payments on this order")
        except (TenderError, RuleError) as exc:
            raise SaleError(str(exc)) from exc
        payment = Payment(**_tender_row(m, order.id, applied, installment_id))
        order.payments.append(payment)
        before_paid, before_status = order.paid, order.status
        order.paid += applied.amount
        new_status = order_rules.next_status(order.status, order.total, order.paid,
                                             order.refunded, order.returned)
        check_transition(OrderStatus(order.status), new_status)
        order.status = new_status.value
        order.updated_at = m.at
        m.session.flush()
        m.audit("order", order.id, {
            "paid": {"before": before_paid, "after": order.paid},
            "status": {"before": before_status, "after": order.status},
            "payment": {"before": None, "after": {"method": payment.method, "amount": payment.amount}},
        })
        m.emit(OpType.PAYMENT_RECORD, order.id, payment_payload(payment), base_version=order.version)
        return SaleResult(order.id, order.reference, order.total, order.paid, applied.change,
                          OrderStatus(order.status), applied.method.value == "cash")


@dataclass(frozen=True)
class OrderSummary:
    id: str
    reference: str
    status: str
    total: int
    paid: int
    created_at: datetime
    customer_name: str | None
    lines: int


def find_by_reference(store: LocalStore, reference: str) -> str | None:
    with store.db.read() as s:
        return s.scalar(select(Order.id).where(Order.reference == reference.strip().upper()))


def todays_orders(store: LocalStore, since: datetime, query: str = "", limit: int = 500) -> list[OrderSummary]:
    """Orders since ``since``, filtered by reference, customer name or amount typed in ``query``."""
    q = query.strip().lower()
    with store.db.read() as s:
        orders = s.scalars(select(Order).where(Order.created_at >= since)
                           .order_by(Order.created_at.desc()).limit(limit))
        result = []
        for o in orders:
            name = decrypt(store.cipher, o.customer).name if o.customer else None
            summary = OrderSummary(o.id, o.reference, o.status, o.total, o.paid, o.created_at, name, len(o.lines))
            if q and not _matches(summary, q):
                continue
            result.append(summary)
        return result


def _matches(o: OrderSummary, q: str) -> bool:
    from app.domain.money import format_plain

    return (q in o.reference.lower() or (o.customer_name or "").lower().find(q) >= 0
            or q == format_plain(o.total) or q.replace(",", ".") == format_plain(o.total))
