"""order.create of a whole batch at once: decided as ``orders.order_create`` decides
it, written without the ORM.

A push is mostly sales. For a run of consecutive ``order.create`` ops (of one device,
or of several devices whose pushes commit together) :mod:`server.sync.bulk_run` loads
what the decision needs in a few queries (the actors, the products the lines name,
which order ids, line ids, payment ids and references already exist, the stores' stock
levels of those products, locked in key order); :func:`order_decision.decide` decides
each op (the one pure step the ORM handler uses too), and this module keeps the rows it
gives (orders, lines, payments, stock movements and levels, audit entries, events and
webhook deliveries) to write with one executemany per table when the run ends. Events
and their deliveries are written only when webhook URLs are configured: the server
reads an event only through its deliveries (the webhook worker), so with no URL a
sale's two event rows were never read; the analytics rollups still count the same
events, from memory (``Run.facts``). Feed
entries go to the push's deferred :class:`FeedWriter`; results and the device counter
are written by the caller, in the same transaction.

The decision reads and writes nothing, so a rejected op buffers nothing and needs no
savepoint. If the database still refuses a run's rows, :class:`BulkRefused` is raised;
the caller rolls the transaction back and applies the chunk again with the ORM
handlers, one savepoint per op, so only the faulty op is rejected.
tests/server/test_order_create_paths.py and test_bulk.py compare the two paths.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from app.domain.ids import new_id
from app.domain.operations import Entity, OpType
from server import tracing
from server.analytics.consumer import consume_rows
from server.context import TerminalPrincipal
from server.db.base import utcnow
from server.db.bulk_insert import execute_rows, insert_rows
from server.feed.writer import FeedWriter
from server.sync import bulk_run, sightings, till_limits
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
from server.sync.common import Outcome, Rejected
from server.sync.dispatch import check_ceiling, upgrade
from server.sync.order_decision import Applied, Envelope, Refused, decide
from sync.payloads import OrderCreate
from sync.protocol import Operation, OpStatus

_lv = LEVELS.c
_ORDER, _ORDER_CREATE = Entity.ORDER.value, OpType.ORDER_CREATE.value
log = logging.getLogger("tillsync.server.sync")
_LEVELS_UPD = (update(LEVELS)
               .where(_lv.store_id == bindparam("b_store"), _lv.product_id == bindparam("b_product"))
               .values(qty_milli=bindparam("b_qty")))


class BulkOrders:
    """Buffers the effects of order.create ops and writes them per table at ``flush``.

    One instance serves a whole transaction, which may hold the pushes of several
    devices (GroupCommit): each op is decided with its own terminal, and the run's rows
    of every device are written together."""

    def __init__(self, session: Session, webhook_urls: list[str],
                 now: datetime | None = None) -> None:
        self.session = session
        self.webhook_urls = list(webhook_urls)
        self.run: Run | None = None
        self.cipher = getattr(session.get_bind().dialect, "tillsync_cipher", None)
        # when the server received the transaction's ops (received_at, the audit and
        # event rows' created_at): one moment for all of them, as their stored results'
        # processed_at, so each column's value is formatted once (server/db/base.py
        # UTCDateTime remembers its last value), not once per op
        self.now = now or utcnow()
        self.now_iso = self.now.isoformat()

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
                      feed: FeedWriter) -> Outcome:
        upgrade(op)  # the op envelope and its actor, checked as run_handler does
        actor = run.staff.get(op.actor_id)
        if actor is None or actor.org_id != term.org_id:
            raise Rejected(f"actor {op.actor_id} is not a staff member of this organization")
        if not actor.active:
            raise Rejected(f"{actor.name} is no longer an active staff member")
        check_ceiling(self.session, term, actor.name, actor.role)
        decision = decide(op.payload, Envelope(
            op.op_id, op.entity_id, term.org_id, term.store_id, term.terminal_id, actor.id,
            actor.name, actor.role, self.now, currency=run.currencies.get(term.store_id)), run)
        if isinstance(decision, Refused):
            return Outcome(OpStatus.REJECTED, reason=decision.reason)
        if term.terminal_id is not None and till_limits.may_breach(op.payload):
            till_limits.check_sale(self.session, term.store_id, actor,
                                   OrderCreate.model_validate(op.payload))
        if term.terminal_id is not None:  # the actor is seen working on this till
            sightings.note_seen(self.session, term.terminal_id, actor.id)
        self._buffer(op, run, decision, feed)
        return Outcome(OpStatus.APPLIED, 1, flags=list(decision.flags))

    def _buffer(self, op: Operation, run: Run, d: Applied, feed: FeedWriter) -> None:
        """Keep an applied op's rows for ``flush``, and count them as existing for the
        run's later ops (nothing here can fail)."""
        order = d.order
        org_id, now, device_id = order["org_id"], order["received_at"], order["device_id"]
        customer = order["customer"]
        phone = customer.get("phone") if isinstance(customer, dict) else None
        order["customer_phone_index"] = self.cipher.phone_index(phone) if self.cipher else None
        run.orders.add(order["id"])
        run.lines.update(li["id"] for li in d.lines)
        run.references.add((org_id, order["reference"]))
        run.payments.update(pay["id"] for pay in d.payments)
        run.levels.update(d.levels)
        run.changed_levels.update(d.levels)
        run.ops.append(op)
        rows = run.rows
        rows[ORDERS].append(order)
        rows[LINES].extend(d.lines)
        rows[PAYMENTS].extend(d.payments)
        rows[MOVEMENTS].extend(d.movements)
        rows[AUDIT].append({
            # plain str values: the driver binds an enum member more slowly (measured: ~5%
            # of the server's CPU on a push of sales, SQLite)
            "org_id": org_id, "store_id": order["store_id"], "entity_type": _ORDER,
            "entity_id": order["id"], "action": _ORDER_CREATE,
            "actor_id": order["created_by"], "device_id": device_id, "op_id": op.op_id,
            "reason": None, "created_at": now, "changes": d.audit,  # plain JSON values
        })
        if self.webhook_urls:
            for event_type, data in d.events:
                event, deliveries = self._event(org_id, event_type, data, now)
                rows[EVENTS].append(event)
                rows[DELIVERIES].extend(deliveries)
        else:  # no subscriber: no event rows, only what the rollups read of them
            run.facts.extend({"org_id": org_id, "type": event_type, "payload": {"data": data}}
                             for event_type, data in d.events)
        for entity_type, entity_id, state in d.feed:
            feed.append(entity_type, entity_id, 1, state, origin_device_id=device_id,
                        op_id=op.op_id)

    def _event(self, org_id: str, event_type: str, data: dict[str, Any], now: datetime
               ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """An event row and its webhook delivery rows (as ``outbox.emit`` writes them)."""
        eid = new_id()
        event = {
            "id": eid, "org_id": org_id, "type": event_type, "created_at": now,
            "payload": {"type": event_type, "org_id": org_id, "data": data, "id": eid,
                        "created_at": self.now_iso if now is self.now else now.isoformat()},
            "trace_parent": tracing.traceparent(),  # the group commit's; None when off
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
            # the analytics rollups (issue 15), from the events whether written or not
            consume_rows(conn, run.rows[EVENTS] if self.webhook_urls else run.facts)
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


def is_bulk(op: Operation) -> bool:
    """A sale that names an approver goes one by one: its approver's proof is checked
    (server/sync/dispatch.py run_handler), which the bulk writer does not do."""
    return op.type is OpType.ORDER_CREATE and not op.payload.get("approved_by")
