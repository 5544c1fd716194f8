"""Running the sync operation handlers for a signed-in staff member (the REST API).

The back office applies the very same rules as a terminal's push: the same handler,
the same permission table (with the caller's current role), the same audit entries,
feed entries and domain events, in one transaction.

Locks are taken in the push's order: the rows the handler works on (order, product,
stock levels, barcode locks) while it runs, and the store feed rows last, just before
the commit (``staff_op_context`` in server/sync/common.py, shared with the conflicts
service: a deferred :class:`FeedWriter`, whose ``assign`` gives the entries their
positions). Taking the feed rows first, as this once did, deadlocked on PostgreSQL with
a push of the same product or order (the push holds the row and waits for the feed).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.util import identity_key

from server.analytics import consumer as analytics
from server.context import AppContext, StaffPrincipal
from server.db.models import Order, Staff, Store
from server.db.raw_query import fetch_pg
from server.db.retry import with_retries
from server.errors import ApiError, not_found
from server.sync.common import OpContext, Outcome, Rejected, staff_op_context
from server.sync.order_limits import AboveLimit
from server.tenancy import scope as store_scope
from sync.protocol import OpStatus, OpType

Body = Callable[[OpContext], Any]


def check_store(session: Session, staff: StaffPrincipal, store_id: str) -> Store:
    store = session.get(Store, store_id)
    if store is None or store.org_id != staff.org_id:
        raise not_found("Store")
    return store


_STORE_AND_ACTOR = (select(Store, Staff).join(Staff, Staff.id == bindparam("staff_id"))
                    .where(Store.id == bindparam("sid")))
#: the store and the caller on PostgreSQL, as written (server/db/raw_query.py): one row
#: whatever is found (NULLs for a store or a person not there), the columns the create
#: reads: the store's organization, currency (server/sync/orders.py ``_known``) and till
#: limits (server/sync/till_limits.py ``limits_of``), the person's as OpContext reads them
#: and whether the person was seen at a till of the store (their store scope,
#: server/tenancy/scope.py ``in_scope``, asked again by a create: :func:`store_in_scope`)
_STORE_AND_ACTOR_PG = (
    "SELECT s.org_id, s.currency, s.till_limits, a.org_id, a.name, a.role, a.active, "
    "EXISTS (SELECT 1 FROM terminal_staff AS ts JOIN terminals AS t "
    "ON t.id = ts.terminal_id WHERE ts.staff_id = $2 AND t.store_id = $1) "
    "FROM (SELECT 1) AS one LEFT JOIN stores AS s ON s.id = $1 "
    "LEFT JOIN staff AS a ON a.id = $2")
#: session.info: (transaction, staff id, store id, seen there) read with the store
_SEEN_AT_STORE = "tillsync.seen_at_store"


def _store_and_actor(session: Session, staff: StaffPrincipal, store_id: str
                     ) -> tuple[Store, Staff]:
    """The store (404 unless the caller's organization's) and the caller as an active
    staff member (401 otherwise), in that order of checks, read by one statement in the
    write's transaction (a person deactivated a moment ago is refused at once)."""
    if session.get_bind().dialect.name == "postgresql":
        return _store_and_actor_pg(session, staff, store_id)
    both = session.execute(_STORE_AND_ACTOR, {"sid": store_id, "staff_id": staff.staff_id}
                           ).first()
    store, actor = both if both is not None else (None, None)
    if store is None:
        store = check_store(session, staff, store_id)
    elif store.org_id != staff.org_id:
        raise not_found("Store")
    if actor is None:
        actor = session.get(Staff, staff.staff_id)
    if actor is None or not actor.active:
        raise ApiError(401, "invalid_token", "The access token was revoked")
    return store, actor


def _store_and_actor_pg(session: Session, staff: StaffPrincipal, store_id: str
                        ) -> tuple[Store, Staff]:
    """:func:`_store_and_actor` by :data:`_STORE_AND_ACTOR_PG` on the driver's cursor:
    the ORM's select of both rows cost about twice as much CPU as the query itself.
    The two rows become the session's own (as loaded, the columns not read expired:
    read on first use), so the handler's looks at them need no statement."""
    (row,) = fetch_pg(session.connection(), _STORE_AND_ACTOR_PG, [store_id, staff.staff_id])
    store_org, currency, till_limits, actor_org, name, role, active, seen = row
    session.info[_SEEN_AT_STORE] = (session.get_transaction(), staff.staff_id, store_id, seen)
    if store_org is None or store_org != staff.org_id:
        raise not_found("Store")
    if actor_org is None or not active:
        raise ApiError(401, "invalid_token", "The access token was revoked")
    store = _as_loaded(session, Store(id=store_id, org_id=store_org, currency=currency,
                                      till_limits=till_limits))
    actor = _as_loaded(session, Staff(id=staff.staff_id, org_id=actor_org, name=name,
                                      role=role, active=active))
    return store, actor


def store_in_scope(session: Session, staff: StaffPrincipal, store_id: str) -> bool:
    """server/tenancy/scope.py ``in_scope`` for the store and person this transaction's
    :func:`_store_and_actor` read (on PostgreSQL, in its statement: no statement of its
    own), else asked of scope.py."""
    seen = session.info.get(_SEEN_AT_STORE)
    if (not store_scope.sees_every_store(staff) and seen is not None
            and seen[0] is session.get_transaction()
            and seen[1:3] == (staff.staff_id, store_id)):
        return bool(seen[3])
    return store_scope.in_scope(session, staff, store_id)


_Row = TypeVar("_Row", Store, Staff)


def _as_loaded(session: Session, row: _Row) -> _Row:
    """``row`` in ``session`` as if a query had loaded it (the one the session holds
    already, if it does): no statement, no change to flush."""
    held = session.identity_map.get(identity_key(type(row), row.id))
    if held is not None:
        return held  # type: ignore[return-value]
    make_transient_to_detached(row)
    session.add(row)
    return row


def home_store(ctx: AppContext, staff: StaffPrincipal, store_id: str | None) -> str:
    """The store an org-wide change (a product's) is recorded against, its audit entry or
    conflict: ``store_id`` if given (404 unless the org's, 403 ``store_scope`` unless in
    the caller's store scope: a manager of one store files nothing in another), else the
    first store in the caller's scope, else the org's first (by id; products are the
    organization's, so someone seen at no till may still edit them)."""
    with ctx.reader() as session:
        if store_id is not None:
            store_scope.check_named_store(session, staff, store_id,
                                          "record changes against the stores")
            return store_id
        mine = store_scope.stores_in_scope(session, staff)
        if mine:
            return min(mine)
        first = session.scalars(select(Store.id).where(Store.org_id == staff.org_id)
                                .order_by(Store.id).limit(1)).first()
        if first is None:
            raise ApiError(409, "no_store", "The organization has no store yet")
        return first


def run(
    ctx: AppContext,
    staff: StaffPrincipal,
    store_id: str | None,
    op_type: OpType,
    entity_id: str,
    payload: dict[str, Any],
    body: Body,
    *,
    org_wide: bool = False,
    order_id: str | None = None,
) -> tuple[Any, list[str]]:
    """Apply ``body`` as ``staff`` in ``store_id``: (its result, flags). ``store_id`` None:
    the store of order ``order_id`` (404 unless an order of the caller's organization),
    looked up first in the same transaction (a write to an order then costs no read
    transaction of its own before it, as a look-up first did). A rejection is an
    HTTP error (403 for a permission, 403 ``above_limit`` past the caller's till limits,
    422 otherwise); nothing is written then.
    ``org_wide`` (products): feed entries go to every store of the org, as for a push.
    The feed entries take their positions (under the store locks) as the last write.

    Tried again after an error that rolled the attempt back (server/db/retry.py): with
    the feed locks last and product codes locked in one sorted order
    (server/sync/product_codes.py), a push of the same records no longer deadlocks with
    this write, but rarer orders remain (a pushed conflict.resolve claiming codes)."""
    with _write_slots:  # (before the transaction: a waiting write holds no lock)
        return with_retries(lambda: _run_once(ctx, staff, store_id, op_type, entity_id,
                                              payload, body, org_wide=org_wide,
                                              order_id=order_id))


#: Back-office writes of this process in their transactions at once, at most; the others
#: wait for a slot before they begin. Under load the thread pool ran up to 40 at once:
#: they only took turns at the interpreter lock and at the rows every order of a store
#: or organization shares (the store's feed row, the journal head, the rollup totals),
#: PostgreSQL spent ~1 ms more CPU per order waking and re-checking the waiters, and the
#: pool opened and closed connections past its 20 (benchmarks/notes/scale.md: 100 users,
#: 1 worker, 3-4 slots against 40: PostgreSQL 4.2-4.5 against 5.2-5.8 ms CPU per order, p95
#: 201-255 against 420-610 ms). A write holds one connection: 4 bounds its share of the pool.
WRITE_SLOTS = 4
_write_slots = threading.BoundedSemaphore(WRITE_SLOTS)


_o = Order.__table__.c
_ORDER_PLACE = select(_o.org_id, _o.store_id).where(_o.id == bindparam("oid"))


def _run_once(ctx: AppContext, staff: StaffPrincipal, store_id: str | None, op_type: OpType,
              entity_id: str, payload: dict[str, Any], body: Body, *, org_wide: bool,
              order_id: str | None) -> tuple[Any, list[str]]:
    with ctx.writer.begin() as session:
        if store_id is None:
            place = session.execute(_ORDER_PLACE, {"oid": order_id}).first()
            if place is None or place.org_id != staff.org_id:
                raise not_found("Order")
            store_id = str(place.store_id)
        # the store kept referenced to the end: the session's identity map holds rows
        # weakly, and the handler's own look at the store (its till limits) then needs no
        # second read
        store, actor = _store_and_actor(session, staff, store_id)
        with staff_op_context(
            session, actor, staff.org_id, store_id, ctx.settings.webhook_urls,
            op_id_prefix="rest", op_type=op_type, entity_id=entity_id, payload=payload,
            org_wide=org_wide,
        ) as oc:
            # No savepoint around the body: every refusal below leaves the block by an
            # exception, so the whole transaction is rolled back anyway (two statements less)
            analytics.defer(session)  # the order's rollups written once, at the end
            try:
                result = body(oc)
                analytics.write_deferred(session)
            except AboveLimit as exc:  # past the caller's till limits (issue 14)
                raise ApiError(403, "above_limit", exc.reason, exc.details) from exc
            except Rejected as exc:
                if "may not do" in exc.reason:
                    raise ApiError(403, "permission_denied", exc.reason) from exc
                raise ApiError(422, "rejected", exc.reason) from exc
        del store
        return result, list(oc.flags)


def conflict_error(outcome: Outcome) -> ApiError | None:
    if outcome.status is OpStatus.CONFLICT:
        return ApiError(409, "conflict", outcome.reason or "conflict",
                        {"conflict_id": outcome.conflict_id, "flags": outcome.flags})
    return None
