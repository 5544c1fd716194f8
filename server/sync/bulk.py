"""order.create of a whole batch at once: the same rules as ``orders.order_create``,
without the ORM.

A push is mostly sales. For a run of consecutive ``order.create`` ops (of one device,
or of several devices whose pushes commit together) :mod:`server.sync.bulk_run` loads
what the rules need in a few queries (the actors, the products the lines name, which
order ids, payment ids and references already exist, the stores' stock levels of
those products, locked in key order); this module decides every op in Python and
writes all the rows (orders, lines, payments, stock movements and levels, audit
entries, events and webhook deliveries) with one executemany per table when the run
ends. Feed entries go to the push's deferred :class:`FeedWriter`; results and the
device counter are written by the caller, in the same transaction.

Every check that can reject an op runs before anything of that op is buffered, so a
rejected op needs no savepoint. The money and order rules are the ORM handler's
(``orders.check_order_create``, the pure rules of app/domain/order_rules.py), and a line
id another order holds (in the database or earlier in the run) is rejected in words.
If the database still refuses a run's rows (say a line
id that already exists), :class:`BulkRefused` is raised; the caller rolls the
transaction back and applies the chunk again with the ORM handlers, one savepoint per
op, exactly as before, so only the faulty op is rejected.

The result of each op (status, version, flags, reason) and every row and feed entry
is what ``orders.order_create`` makes; tests/server/test_bulk.py compares the two.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from app.domain.ids import new_id
from app.domain.order_status import status_for_balance
from app.domain.permissions import Action, allowed
from app.domain.totals import Discount, DiscountError, compute
from server.context import TerminalPrincipal
from server.db.base import utcnow
from server.db.bulk_insert import execute_rows, insert_rows
from server.feed.serialize import iso
from server.feed.writer import FeedWriter
from server.sync import bulk_run, sightings
from server.sync.bulk_run import (
    AUDIT,
    DELIVERIES,
    EVENTS,
    LEVELS,
    LINES,
    MOVEMENTS,
    ORDERS,
    PAYMENTS,
    TABLES,
    Run,
)
from server.sync.common import Outcome, Rejected, jsonable, parse_payload
from server.sync.dispatch import check_ceiling
from server.sync.orders import check_order_create, line_ids_taken, line_inputs
from sync.payloads import OrderCreate
from sync.protocol import OPERATION_FORMAT_VERSION, Operation, OpStatus, OpType

_lv = LEVELS.c
log = logging.getLogger("tillsync.server.sync")
_LEVELS_UPD = (update(LEVELS)
               .where(_lv.store_id == bindparam("b_store"), _lv.product_id == bindparam("b_product"))
               .values(qty_milli=bindparam("b_qty")))


class BulkOrders:
    """Buffers the effects of order.create ops and writes them per table at ``flush``.

    One instance serves a whole transaction, which may hold the pushes of several
    devices (GroupCommit): each op is decided with its own terminal, and the run's rows
    of every device are written together."""

    def __init__(self, session: Session, webhook_urls: list[str]) -> None:
        self.session = session
        self.webhook_urls = list(webhook_urls)
        self.run: Run | None = None
        self.cipher = getattr(session.get_bind().dialect, "tillsync_cipher", None)

    def prepared(self, op: Operation) -> bool:
        return self.run is not None and op.op_id in self.run.prepared

    # ------------------------------------------------------------------ loading

    def prepare(self, runs: Sequence[tuple[TerminalPrincipal, Sequence[Operation]]]) -> None:
        """Load what the rules need for these devices' order.create ops, into the current
        run (a new one if none): only what the run does not know yet is read."""
        self.run = bulk_run.load(self.session, self.run, runs)

    # ------------------------------------------------------------------ applying

    def order_create(self, op: Operation, terminal: TerminalPrincipal, feed: FeedWriter
                     ) -> Outcome | None:
        """Decide one order.create of ``terminal`` and buffer its rows (its feed entries in
        ``feed``); a Rejected buffers nothing.

        None when this op must go through the ORM handler instead (an unexpected error)."""
        assert self.run is not None and op.op_id in self.run.prepared, "prepare() first"
        try:
            return self._order_create(op, self.run, terminal, feed)
        except Rejected as exc:
            return Outcome(OpStatus.REJECTED, reason=exc.reason)
        except Exception:  # a bug here: let the ORM handler decide this op (nothing buffered)
            log.exception("bulk order.create of op %s failed; applying it one by one",
                          op.op_id)
            return None

    def _order_create(self, op: Operation, run: Run, term: TerminalPrincipal,
                      feed_writer: FeedWriter) -> Outcome:
        if op.format_version > OPERATION_FORMAT_VERSION:
            raise Rejected(
                f"format_version {op.format_version} is newer than this server understands "
                f"({OPERATION_FORMAT_VERSION}); upgrade the server"
            )
        actor = run.staff.get(op.actor_id)
        if actor is None or actor.org_id != term.org_id:
            raise Rejected(f"actor {op.actor_id} is not a staff member of this organization")
        if not actor.active:
            raise Rejected(f"{actor.name} is no longer an active staff member")
        check_ceiling(self.session, term, actor.name, actor.role)

        def can(action: Action) -> bool:
            return allowed(actor.role, action)

        def require(action: Action) -> None:
            if not can(action):
                raise Rejected(f"{actor.name} is a {actor.role}, and a {actor.role} "
                               f"may not do {action.value}")

        require(Action.SALE_CREATE)
        p = parse_payload(OrderCreate, op.payload)
        if p.store_id != term.store_id:
            raise Rejected("the order's store_id is not this terminal's store")
        if op.entity_id in run.orders:
            raise Rejected(f"order {op.entity_id} already exists (sent with another op_id)")
        check_order_create(p)  # the rules of orders.order_create, decided there once
        if taken := [li.id for li in p.lines if li.id in run.lines]:
            raise line_ids_taken(taken)
        flags: list[str] = []

        def flag(name: str) -> None:
            if name not in flags:
                flags.append(name)

        products = run.products
        for li in p.lines:
            product = products.get(li.product_id) if li.product_id else None
            if product is None or product.org_id != term.org_id:
                flag("unknown_product")
                continue
            if product.deleted or not product.active:
                flag("inactive_product")
            if product.price != li.unit_price and not li.unit_price < 0:
                flag("price_changed")
            if (li.discount_percent_ppm or li.discount_amount) and not can(
                Action.SALE_LINE_DISCOUNT
            ):
                flag("discount_not_permitted")
        if (p.order_discount_percent_ppm or p.order_discount_amount) and not can(
            Action.SALE_ORDER_DISCOUNT
        ):
            flag("discount_not_permitted")
        server_totals: dict[str, int] | None = None
        try:
            t = compute(line_inputs(p.lines),
                        Discount(p.order_discount_percent_ppm, p.order_discount_amount),
                        inclusive=p.tax_inclusive)
            server_totals = {"subtotal": t.subtotal, "discount": t.discount, "tax": t.tax,
                             "total": t.total}
            if server_totals != {"subtotal": p.subtotal, "discount": p.discount, "tax": p.tax,
                                 "total": p.total}:
                flag("totals_mismatch")
        except DiscountError:
            flag("invalid_discount")
        if (term.org_id, p.reference) in run.references:
            flag("duplicate_reference")
        if p.payments:
            require(Action.PAYMENT_RECORD)

        # ---- nothing below rejects. Build the op's rows, then buffer them all at once
        if term.terminal_id is not None:  # the actor is seen working on this till
            sightings.note_seen(self.session, term.terminal_id, actor.id)
        now = utcnow()
        oid = op.entity_id
        org_id, store_id, device_id = term.org_id, term.store_id, term.terminal_id
        added = []
        seen_pay: set[str] = set()
        paid = 0
        for pay in p.payments:
            if pay.id in run.payments or pay.id in seen_pay:
                continue
            seen_pay.add(pay.id)
            added.append(pay)
            paid += pay.amount
        status = status_for_balance(p.total, paid, 0).value
        levels: dict[tuple[str, str], int] = {}
        movements: list[dict[str, Any]] = []
        for li in p.lines:
            pid = li.product_id
            product = products.get(pid) if pid else None
            if pid is None or product is None or product.org_id != org_id \
                    or not product.stock_tracked:
                continue
            key = (store_id, pid)
            qty = levels.get(key, run.levels.get(key, 0)) - li.qty_milli
            levels[key] = qty
            if qty < 0:
                flag("negative_stock")
            movements.append({
                "id": new_id(), "org_id": org_id, "store_id": store_id,
                "product_id": pid, "kind": "sale", "qty_delta_milli": -li.qty_milli,
                "qty_after_milli": qty, "reason": None, "reference": p.reference,
                "actor_id": actor.id, "device_id": device_id, "created_at": p.created_at,
            })
        customer = p.customer.model_dump() if p.customer else None  # strings only: JSON as is
        phone = customer.get("phone") if isinstance(customer, dict) else None
        installments = (jsonable([i.model_dump() for i in p.installments])
                        if p.installments else [])
        order_flags = list(flags)
        order = {
            "id": oid, "org_id": org_id, "store_id": store_id, "reference": p.reference,
            "status": status, "currency": p.currency, "tax_inclusive": p.tax_inclusive,
            "is_offline": p.is_offline, "customer": customer,
            "customer_phone_index": self.cipher.phone_index(phone) if self.cipher else None,
            "order_discount_percent_ppm": p.order_discount_percent_ppm,
            "order_discount_amount": p.order_discount_amount, "subtotal": p.subtotal,
            "discount": p.discount, "tax": p.tax, "total": p.total, "paid": paid,
            "refunded": 0, "note": p.note, "flags": order_flags, "installments": installments,
            "created_at": p.created_at, "created_by": actor.id, "device_id": device_id,
            "deleted_reason": None, "deleted_by": None, "version": 1, "received_at": now,
            "updated_at": now,
        }
        line_rows = []
        line_states = []
        for pos, li in enumerate(p.lines):
            data = li.model_dump()
            line_states.append(dict(data))
            data["order_id"] = oid
            data["position"] = pos
            line_rows.append(data)
        pay_rows = [{
            "id": pay.id, "org_id": org_id, "store_id": store_id, "order_id": oid,
            "method": pay.method, "amount": pay.amount, "tendered": pay.tendered,
            "change": pay.change, "installment_id": pay.installment_id,
            "actor_id": actor.id, "device_id": device_id, "created_at": pay.created_at,
            "received_at": now,
        } for pay in added]
        feed = [("stock_movement", m["id"], {
            "id": m["id"], "store_id": store_id, "product_id": m["product_id"],
            "kind": "sale", "qty_delta_milli": m["qty_delta_milli"],
            "qty_on_hand_milli": m["qty_after_milli"], "reason": None,
            "reference": p.reference, "actor_id": actor.id, "device_id": device_id,
            "created_at": iso(p.created_at),
        }) for m in movements]
        audit = {
            "org_id": org_id, "store_id": store_id, "entity_type": "order", "entity_id": oid,
            "action": "order.create", "actor_id": actor.id, "device_id": device_id,
            "op_id": op.op_id, "reason": None, "created_at": now,
            "changes": {"created": {"before": None,  # plain JSON values: no jsonable()
                                    "after": {"reference": p.reference, "total": p.total}},
                        "server_totals": server_totals, "flags": list(flags)},
        }
        state = {
            "id": oid, "org_id": org_id, "store_id": store_id, "reference": p.reference,
            "status": status, "currency": p.currency, "tax_inclusive": p.tax_inclusive,
            "is_offline": p.is_offline, "customer": customer,
            "order_discount_percent_ppm": p.order_discount_percent_ppm,
            "order_discount_amount": p.order_discount_amount, "subtotal": p.subtotal,
            "discount": p.discount, "tax": p.tax, "total": p.total, "paid": paid,
            "refunded": 0, "note": p.note, "flags": order_flags, "installments": installments,
            "created_at": iso(p.created_at), "created_by": actor.id, "device_id": device_id,
            "deleted_reason": None, "deleted_by": None, "version": 1,
            "updated_at": iso(now), "lines": line_states,
            "payments": [_payment_state(r) for r in
                         sorted(pay_rows, key=lambda r: (_utc(r["created_at"]), r["id"]))],
            "refunds": [],
        }
        feed.append(("order", oid, state))
        events = [self._event(org_id, "offline_order.created", state, now)]
        events += [self._event(org_id, "payment.received",
                               {"order_id": oid, "reference": p.reference,
                                "payment": jsonable(pay.model_dump())}, now)
                   for pay in added]

        # ---- buffer (nothing below can fail)
        rows = run.rows
        run.orders.add(oid)
        run.lines.update(li.id for li in p.lines)
        run.references.add((org_id, p.reference))
        run.payments.update(seen_pay)
        run.levels.update(levels)
        run.changed_levels.update(levels)
        run.ops.append(op)
        rows[ORDERS].append(order)
        rows[LINES].extend(line_rows)
        rows[PAYMENTS].extend(pay_rows)
        rows[MOVEMENTS].extend(movements)
        rows[AUDIT].append(audit)
        for event, deliveries in events:
            rows[EVENTS].append(event)
            rows[DELIVERIES].extend(deliveries)
        for entity_type, entity_id, data in feed:
            feed_writer.append(entity_type, entity_id, 1, data, origin_device_id=device_id,
                               op_id=op.op_id)
        return Outcome(OpStatus.APPLIED, 1, flags=list(flags))

    def _event(self, org_id: str, event_type: str, data: dict[str, Any], now: datetime
               ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """An event row and its webhook delivery rows (as ``outbox.emit`` writes them)."""
        eid = new_id()
        event = {
            "id": eid, "org_id": org_id, "type": event_type, "created_at": now,
            "payload": {"type": event_type, "org_id": org_id, "data": data, "id": eid,
                        "created_at": now.isoformat()},
        }
        return event, [{
            "id": new_id(), "event_id": eid, "url": url, "status": "pending", "attempts": 0,
            "next_attempt_at": now, "last_error": None, "delivered_at": None,
        } for url in self.webhook_urls]

    # ------------------------------------------------------------------ writing

    def flush(self) -> None:
        """Write the run's rows (one executemany per table); the run ends.

        No savepoint: the rows of a run were checked against what the database held when
        the run was prepared, so an error here is unexpected (a line id used before,
        say). It is raised as :class:`BulkRefused`; the caller then rolls the whole
        transaction back and applies the chunk again one op at a time (ORM handlers, a
        savepoint each), where such an op is rejected on its own."""
        run, self.run = self.run, None
        if run is None or not run.ops:
            return  # (levels a run only locked stay as they were)
        conn = self.session.connection()
        try:
            for table in TABLES:
                insert_rows(conn, table, run.rows[table])
            execute_rows(
                conn, _LEVELS_UPD,
                [{"b_store": store, "b_product": pid, "b_qty": run.levels[(store, pid)]}
                 for store, pid in sorted(run.changed_levels)],
            )
        except OperationalError:
            raise
        except DBAPIError as exc:
            raise BulkRefused(str(exc)) from exc
        if self.session.identity_map:
            self.session.expire_all()  # ORM objects loaded earlier may be stale now


class BulkRefused(Exception):
    """The database refused a bulk run's rows: redo the chunk without the bulk path."""


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _payment_state(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": r["id"], "order_id": r["order_id"], "method": r["method"], "amount": r["amount"],
        "tendered": r["tendered"], "change": r["change"],
        "installment_id": r["installment_id"], "created_at": iso(r["created_at"]),
        "actor_id": r["actor_id"], "device_id": r["device_id"],
    }


def is_bulk(op: Operation) -> bool:
    return op.type is OpType.ORDER_CREATE
