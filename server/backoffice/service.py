"""Back-office reads and writes of orders of the stores the caller may see to.

The store scope is the one of server/tenancy/scope.py (an owner or admin every store of
the organization, anyone else the stores whose tills they were seen working on): a list
shows only those stores' orders, an order of another store is not found (404), a store
named in the request (``store_id``) out of scope is 403 ``store_scope``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import (
    Connection,
    Integer,
    String,
    Table,
    Text,
    bindparam,
    cast,
    exists,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.domain import order_rules
from app.domain.ids import SERVER_DEVICE_CODE, new_id, parse_reference, server_reference
from app.domain.operations import Entity
from app.domain.order_status import OrderStatus
from app.domain.permissions import Action, allowed
from server import crypto
from server.backoffice import ops, scoped
from server.backoffice.schemas import (
    AuditOut,
    OrderCreateIn,
    OrderDetail,
    OrderPage,
    OrderSummary,
    PaymentIn,
    RefundIn,
    RefundOut,
)
from server.context import AppContext, StaffPrincipal
from server.db.base import utcnow
from server.db.engine import AUTOCOMMIT
from server.db.models import AuditEntry, Order, Payment, ServerMeta
from server.db.raw_query import fetch_pg
from server.errors import ApiError, not_found
from server.feed.serialize import (
    ORDER_STATE_TIMES,
    PAYMENT_STATE_TIMES,
    approval_state,
    order_state,
    payment_state,
)
from server.sync import approvals, order_edits, order_limits, orders
from server.sync.common import OpContext, Outcome, Rejected
from server.tenancy import scope as store_scope
from sync.payloads import ApprovalRequest, EntityUpdate, PaymentData, RefundCreate
from sync.protocol import OpType


def _summary(o: Order) -> OrderSummary:
    return OrderSummary(
        id=o.id, store_id=o.store_id, reference=o.reference, status=o.status,
        is_offline=o.is_offline, currency=o.currency, total=o.total, paid=o.paid,
        refunded=o.refunded, flags=list(o.flags or []), created_at=o.created_at,
        created_by=o.created_by, device_id=o.device_id, version=o.version,
    )


def list_orders(
    ctx: AppContext,
    staff: StaffPrincipal,
    *,
    date_from: datetime | None,
    date_to: datetime | None,
    status: str | None,
    store_id: str | None,
    offline: bool | None,
    limit: int,
    phone: str | None = None,
    offset: int,
    flag: str | None = None,
) -> OrderPage:
    """``flag``: only orders carrying it, e.g. ``duplicate_reference`` (a pushed sale
    whose reference another order holds, applied and kept apart for a manager)."""
    conds = [Order.org_id == staff.org_id]
    if flag:
        conds.append(cast(Order.flags, Text).contains(f'"{flag}"', autoescape=True))
    if date_from is not None:
        conds.append(Order.created_at >= date_from)
    if date_to is not None:
        conds.append(Order.created_at < date_to)
    if status:
        conds.append(Order.status == status)
    if offline is not None:
        conds.append(Order.is_offline.is_(offline))
    with ctx.reader() as session:
        stores = store_scope.stores_read(session, staff, store_id, scoped.ORDERS)
        if stores is not None:
            conds.append(Order.store_id.in_(stores))
        if phone:
            cipher = crypto.cipher_of(session)
            conds.append(Order.customer_phone_index == (cipher.phone_index(phone) if cipher
                                                        else None))
        total = session.scalar(select(func.count()).select_from(Order).where(*conds)) or 0
        rows = session.scalars(
            select(Order).where(*conds).order_by(Order.created_at.desc(), Order.id)
            .limit(limit).offset(offset)
        ).all()
        return OrderPage(items=[_summary(o) for o in rows], total=total, limit=limit,
                         offset=offset)


def get_order(ctx: AppContext, staff: StaffPrincipal, order_id: str, *,
              checked: bool = False) -> OrderDetail:
    """``checked``: the order's store was found in scope already (by the write just
    made), so no look at the scope again."""
    with ctx.reader() as session:
        return _detail(session, staff, order_id, scoped=not checked)


def _detail(session: Session, staff: StaffPrincipal, order_id: str, *,
            scoped: bool = False) -> OrderDetail:
    """``scoped``: 404 unless the order's store is in the caller's scope too."""
    order = session.get(Order, order_id)
    if order is None or order.org_id != staff.org_id:
        raise not_found("Order")
    if scoped:
        store_scope.check_record_store(session, staff, order.store_id, "Order")
    return OrderDetail(order=order_state(session, order), audit=order_audit(session, order_id))


def read_in(oc: OpContext, staff: StaffPrincipal, order_id: str) -> OrderDetail:
    """The order as a read after this write's commit will give it, read inside the write's
    transaction (no transaction of its own after it): the writes flushed, then read by a
    session of its own on the same connection, so every value comes from the database
    (as stored, not as the handler set it)."""
    oc.session.flush()
    with Session(bind=oc.session.connection(), join_transaction_mode="rollback_only") as view:
        return _detail(view, staff, order_id)


def _table(model: Any) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


ORDER_ENTITY = Entity.ORDER.value
_AUDIT = _table(AuditEntry)
_ORDER_AUDIT = (select(_AUDIT.c.id, _AUDIT.c.action, _AUDIT.c.actor_id, _AUDIT.c.device_id,
                       _AUDIT.c.op_id, _AUDIT.c.changes, _AUDIT.c.reason, _AUDIT.c.created_at)
                .where(_AUDIT.c.entity_type == "order", _AUDIT.c.entity_id == bindparam("oid"))
                .order_by(_AUDIT.c.id))


def order_audit(session: Session, order_id: str) -> list[AuditOut]:
    """The order's audit trail, oldest first (one statement, built once)."""
    return [AuditOut(id=a.id, action=a.action, actor_id=a.actor_id, device_id=a.device_id,
                     op_id=a.op_id, changes=a.changes, reason=a.reason, created_at=a.created_at)
            for a in session.execute(_ORDER_AUDIT, {"oid": order_id})]


def _stored_time(value: str | None) -> str | None:
    """An ISO time as the database gives it back (UTCDateTime: in UTC, a naive one read
    as UTC), so an answer built from the written values equals a later read."""
    if value is None:
        return None
    at = datetime.fromisoformat(value)
    return (at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)).isoformat()


def new_order_audit(session: Session, order_id: str,
                    written: Sequence[dict[str, Any]] = ()) -> list[AuditOut]:
    """A new order's audit trail: the entries this write adds for it, flushed (their ids
    are the database's) and taken from the session rather than read again. Every value
    is the one stored: ``changes`` went through ``jsonable`` (plain JSON values, kept in
    a JSON column in their order), ``created_at`` is the Python default's UTC time.
    Only for an order this write creates: an older order's trail has earlier entries.
    ``written``: the entries the write inserted itself, as rows with their ids
    (OpContext.written_audit: order.create's on PostgreSQL, with its rows), the same
    values. None pending nor written (flushed already, and no longer in the session):
    read as :func:`order_audit` reads it."""
    mine = [entry for entry in session.new if isinstance(entry, AuditEntry)
            and entry.entity_type == ORDER_ENTITY and entry.entity_id == order_id]
    rows = [row for row in written
            if row["entity_type"] == ORDER_ENTITY and row["entity_id"] == order_id]
    if not mine and not rows:
        return order_audit(session, order_id)
    if mine:
        session.flush()  # (the objects kept by ``mine``: the identity map holds them weakly)
    out = [AuditOut(id=a.id, action=a.action, actor_id=a.actor_id, device_id=a.device_id,
                    op_id=a.op_id, changes=a.changes, reason=a.reason, created_at=a.created_at)
           for a in mine]
    out += [AuditOut(id=r["id"], action=r["action"], actor_id=r["actor_id"],
                     device_id=r["device_id"], op_id=r["op_id"], changes=r["changes"],
                     reason=r["reason"], created_at=r["created_at"]) for r in rows]
    return sorted(out, key=lambda a: a.id)


def written_detail(oc: OpContext, order_id: str) -> OrderDetail | None:
    """The order this write created, without reading it again after the commit: the
    state its handler put in the feed (the last one for the order: built from the values
    written, by the same order_state_of as a read), its times as the database keeps them,
    and its audit trail as written (:func:`new_order_audit`). None if the write put no
    state of the order in the feed (the caller then reads it after the commit)."""
    state = None
    for entry in oc.feed.pending:
        if entry["entity_type"] == ORDER_ENTITY and entry["entity_id"] == order_id:
            state = entry["data"]
    if state is None:
        return None
    order = dict(state)
    for name in ORDER_STATE_TIMES:
        order[name] = _stored_time(order[name])
    payments = []
    for payment in state["payments"]:
        payment = dict(payment)
        for name in PAYMENT_STATE_TIMES:
            payment[name] = _stored_time(payment[name])
        payments.append(payment)
    order["payments"] = payments
    return OrderDetail(order=order, audit=new_order_audit(oc.session, order_id,
                                                         oc.written_audit))


def _read_unless_conflict(oc: OpContext, staff: StaffPrincipal, order_id: str,
                          outcome: Outcome) -> OrderDetail | None:
    """The order as stored after the write (:func:`read_in`); None for a conflict, which
    is answered 409 (its record is kept: the transaction commits)."""
    return None if ops.conflict_error(outcome) is not None else read_in(oc, staff, order_id)


def _detail_after(ctx: AppContext, staff: StaffPrincipal, order_id: str,
                  outcome: Outcome | None = None, written: OrderDetail | None = None
                  ) -> OrderDetail:
    if outcome is not None and (err := ops.conflict_error(outcome)) is not None:
        raise err
    return written if written is not None else get_order(ctx, staff, order_id, checked=True)


def create_order(ctx: AppContext, staff: StaffPrincipal, body: OrderCreateIn) -> OrderDetail:
    """Record an order as a terminal would (same checks, flags, stock, events).

    The order's reference is made here, from the server's own code range (``GO-ZZ…``,
    which enrollment never gives a terminal), so it never takes a till's reference; the
    answer carries it. A reference is optional; one sent must have the GO- shape (422),
    and one that another order of the organization holds is refused (409
    ``duplicate_reference``): the order was most likely recorded already.

    Two transactions: the checks and the reference (:func:`take_server_reference`), then
    the order, whose answer is built from what it wrote (:func:`written_detail`)."""
    payload = body.model_dump(mode="json", exclude={"id"})
    reference = take_server_reference(ctx, staff.org_id, new_order=body.id,
                                      sent=body.reference)

    def create(oc: OpContext) -> tuple[Outcome, OrderDetail | None]:
        # the store (the organization's: checked by ops.run) named in the body
        if not ops.store_in_scope(oc.session, staff, body.store_id):
            raise store_scope.out_of_scope(body.store_id, scoped.ORDERS)
        oc.op.payload["reference"] = reference
        outcome = orders.order_create_in(oc, server_reference=True)
        return outcome, written_detail(oc, body.id)

    (outcome, written), _ = ops.run(ctx, staff, body.store_id, OpType.ORDER_CREATE, body.id,
                                    payload, create)
    return _detail_after(ctx, staff, body.id, outcome, written)


def _check_sent_reference(conn: Connection, org_id: str, reference: str) -> None:
    """A reference the caller sent: the GO- shape (422), and not another order's (409)."""
    try:
        with orders.rules():
            order_rules.check_reference(reference, from_server=True)
    except Rejected as exc:
        raise ApiError(422, "rejected", exc.reason) from exc
    held = conn.scalars(_REFERENCE_HELD, {"org": org_id, "ref": reference}).first()
    if held is not None:
        raise ApiError(409, "duplicate_reference",
                       f"Order reference {reference} is already used by another order",
                       {"order_id": held})


REFERENCE_COUNTER = "server_reference:"
_META = _table(ServerMeta)
_ORDERS = _table(Order)
_ORDER_EXISTS = select(_ORDERS.c.id).where(_ORDERS.c.id == bindparam("oid"))
_REFERENCE_HELD = select(_ORDERS.c.id).where(_ORDERS.c.org_id == bindparam("org"),
                                             _ORDERS.c.reference == bindparam("ref"))
_BUMP = (update(_META).where(_META.c.key == bindparam("meta_key"))
         .values(value=cast(cast(_META.c.value, Integer) + 1, String))
         .returning(_META.c.value))
#: the bump, only while no order has the new order's id: the usual create's whole first
#: transaction in one statement (no row: the counter is new, or the order exists)
_BUMP_FOR_NEW = _BUMP.where(~exists().where(_ORDERS.c.id == bindparam("oid")))


#: _BUMP_FOR_NEW as written for PostgreSQL (``$1`` the counter's key, ``$2`` the order id)
_BUMP_FOR_NEW_PG = (
    "UPDATE server_meta SET value = CAST(CAST(server_meta.value AS INTEGER) + 1 AS VARCHAR) "
    "WHERE server_meta.key = $1 AND NOT (EXISTS (SELECT 1 FROM orders WHERE orders.id = $2)) "
    "RETURNING server_meta.value")


def take_server_reference(ctx: AppContext, org_id: str, *, new_order: str | None = None,
                          sent: str | None = None) -> str:
    """The organization's next server-made reference (``GO-ZZ…``), taken in a transaction
    of its own before the order's: the counter's row is locked only for that short
    commit, so back-office creates of one organization no longer wait on each other for
    their whole transaction (they did while the organization's row was locked until the
    order committed: 29 orders/s with 100 users, p95 4.7 s, benchmarks/rest_load.py). A
    create refused afterwards leaves its number unused: references stay unique, not
    gap-free. The counter (``server_meta``) starts from the organization's highest server
    reference the first time.

    The create's checks come first in the same transaction, so a refused create takes no
    number: ``new_order`` must not exist (409 ``exists``), and a ``sent`` reference must
    have the GO- shape (422) and be no other order's (409 ``duplicate_reference``). A plain
    Core connection, not a session: no ORM work, and nothing to chain (no audit entry)."""
    key = (REFERENCE_COUNTER + org_id)[:100]
    usual = new_order is not None and sent is None
    if usual and ctx.engine.dialect.name == "postgresql":
        # the usual create's one statement in autocommit: no BEGIN and COMMIT round trips
        # (as written, on the driver's cursor: server/db/raw_query.py)
        with ctx.engine.connect().execution_options(**AUTOCOMMIT) as conn:
            rows = fetch_pg(conn, _BUMP_FOR_NEW_PG, [key, new_order])
        if rows:
            return server_reference(int(rows[0][0]))
        usual = False  # (no row: the counter is new or the order exists; see below)
    with ctx.engine.begin() as conn:
        if usual:
            taken = conn.scalars(_BUMP_FOR_NEW, {"meta_key": key, "oid": new_order}).first()
            if taken is not None:
                return server_reference(int(taken))
        if new_order is not None and conn.scalars(_ORDER_EXISTS, {"oid": new_order}).first():
            raise ApiError(409, "exists", f"Order {new_order} already exists")
        if sent is not None:
            _check_sent_reference(conn, org_id, sent)
        taken = conn.scalars(_BUMP, {"meta_key": key}).first()
        if taken is None:
            start = last_server_number(conn, org_id)
            insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
            conn.execute(insert(_META).values(key=key, value=str(start))
                         .on_conflict_do_nothing())
            taken = conn.scalars(_BUMP, {"meta_key": key}).one()
    return server_reference(int(taken))


def last_server_number(conn: Connection | Session, org_id: str) -> int:
    """The counter of the organization's highest server-made reference (0: none yet)."""
    prefix = f"GO-{SERVER_DEVICE_CODE}"
    last = conn.scalars(
        select(_ORDERS.c.reference)
        .where(_ORDERS.c.org_id == org_id, _ORDERS.c.reference.startswith(prefix, autoescape=True))
        .order_by(func.length(_ORDERS.c.reference).desc(), _ORDERS.c.reference.desc()).limit(1)
    ).first()
    parsed = parse_reference(last) if last else None
    return parsed[1] if parsed else 0


def update_order(ctx: AppContext, staff: StaffPrincipal, order_id: str,
                 body: EntityUpdate) -> OrderDetail:
    """Field edits with base values: merged like a terminal's order.update (409 on conflict,
    with the conflict record kept for a manager)."""

    def update(oc: OpContext) -> tuple[Outcome, OrderDetail | None]:
        outcome = order_edits.order_update(oc)
        return outcome, _read_unless_conflict(oc, staff, order_id, outcome)

    (outcome, written), _ = ops.run(ctx, staff, None, OpType.ORDER_UPDATE, order_id,
                                    body.model_dump(mode="json"), scoped.in_scope(staff, update),
                                    order_id=order_id)
    return _detail_after(ctx, staff, order_id, outcome, written)


def delete_order(ctx: AppContext, staff: StaffPrincipal, order_id: str, reason: str) -> OrderDetail:
    """Soft-delete a pending order with a reason; it reaches terminals through the feed."""

    def delete(oc: OpContext) -> Outcome:
        order = orders.load_order(oc, order_id)
        if order.status == OrderStatus.DELETED.value:
            return order_edits.delete_in(oc, order_id, reason, None, None)
        blocker = order_rules.deletion_blocker(order.status, order.paid, order.refunded,
                                               order.currency)
        if blocker is not None:  # not pending, or money collected: refund first
            raise ApiError(409, "not_deletable", blocker)
        return order_edits.delete_in(oc, order_id, reason, None, None)

    def body(oc: OpContext) -> tuple[Outcome, OrderDetail | None]:
        outcome = delete(oc)
        return outcome, _read_unless_conflict(oc, staff, order_id, outcome)

    (outcome, written), _ = ops.run(ctx, staff, None, OpType.ORDER_DELETE, order_id,
                                    {"reason": reason}, scoped.in_scope(staff, body),
                                    order_id=order_id)
    return _detail_after(ctx, staff, order_id, outcome, written)


M = TypeVar("M", bound=BaseModel)


def _naming_order(ctx: AppContext, staff: StaffPrincipal, order_id: str, make: Callable[[], M]
                  ) -> M:
    """``make()``, a payload naming order ``order_id``. The order is looked up inside the
    write's transaction (ops.run ``order_id``), after the payload is built; an id that no
    payload can hold (not a UUID) answers what it did when the order was looked up first:
    404 unless an order of the caller's organization and scope (then the payload's error,
    as before)."""
    try:
        return make()
    except ValidationError:
        scoped.order_store(ctx, staff, order_id)
        raise


def record_payment(ctx: AppContext, staff: StaffPrincipal, order_id: str,
                   body: PaymentIn) -> dict[str, Any]:
    payment = _naming_order(ctx, staff, order_id, lambda: PaymentData(
        id=body.id, order_id=order_id, method=body.method, amount=body.amount,
        tendered=body.amount if body.tendered is None else body.tendered, change=body.change,
        installment_id=body.installment_id, created_at=body.created_at or utcnow(),
    ))
    payload = payment.model_dump(mode="json")

    def record(oc: OpContext) -> dict[str, Any]:
        orders.payment_record(oc)
        oc.session.flush()  # then read as stored, in the write's transaction
        row = oc.session.get(Payment, body.id, populate_existing=True)
        assert row is not None
        return payment_state(row)

    state, _ = ops.run(ctx, staff, None, OpType.PAYMENT_RECORD, order_id, payload,
                       scoped.in_scope(staff, record), order_id=order_id)
    return state  # type: ignore[no-any-return]


def list_payments(ctx: AppContext, staff: StaffPrincipal, order_id: str) -> list[dict[str, Any]]:
    scoped.order_store(ctx, staff, order_id)
    with ctx.reader() as session:
        rows = session.scalars(select(Payment).where(Payment.order_id == order_id)
                               .order_by(Payment.created_at, Payment.id))
        return [payment_state(p) for p in rows]


def refund(ctx: AppContext, staff: StaffPrincipal, order_id: str, body: RefundIn) -> RefundOut:
    """Refund at once (refund.approve) or ask for an approval (refund.request only)."""
    if allowed(staff.role, Action.REFUND_APPROVE):
        data = _naming_order(ctx, staff, order_id, lambda: RefundCreate(
            refund_id=body.refund_id, order_id=order_id, lines=body.lines, amount=body.amount,
            method=body.method, restock=body.restock, reason=body.reason,
            approved_by=staff.staff_id, created_at=utcnow(), without_receipt=body.without_receipt,
        ))

        def refund_now(oc: OpContext) -> tuple[Outcome, OrderDetail | None]:
            outcome = orders.refund_in(oc, data)
            return outcome, _read_unless_conflict(oc, staff, order_id, outcome)

        (outcome, written), _ = ops.run(ctx, staff, None, OpType.REFUND_CREATE, body.refund_id,
                                        data.model_dump(mode="json"),
                                        scoped.in_scope(staff, refund_now), order_id=order_id)
        detail = _detail_after(ctx, staff, order_id, outcome, written)
        return RefundOut(status="refunded", order=detail.order, flags=outcome.flags)
    request = _naming_order(ctx, staff, order_id, lambda: ApprovalRequest(
        approval_id=new_id(), kind="refund", order_id=order_id, reason=body.reason,
        details={"lines": [li.model_dump() for li in body.lines], "amount": body.amount,
                 "method": body.method, "restock": body.restock, "refund_id": body.refund_id}
        | ({"without_receipt": True} if body.without_receipt else {}),
        requested_at=utcnow(),
    ))

    def ask(oc: OpContext) -> Any:
        # a request past the asker's own till limits is refused, not queued (403
        # above_limit): the manager refunds it themselves, on their own limits
        order_limits.check_staff_refund(oc.session, oc.terminal.store_id, oc.actor,
                                        body.without_receipt, what="refund request")
        return approvals.request_in(oc, request)

    (approval, _), flags = ops.run(ctx, staff, None, OpType.APPROVAL_REQUEST,
                                   request.approval_id, request.model_dump(mode="json"),
                                   scoped.in_scope(staff, ask), order_id=order_id)
    return RefundOut(status="pending_approval", approval=approval_state(approval), flags=flags)
