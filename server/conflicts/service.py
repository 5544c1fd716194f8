"""Resolving conflicts: the chosen values are applied as a normal change, into the feed.

An order's conflict belongs to its store: listed and resolved only by those whose scope
holds the store (server/tenancy/scope.py; another store's is not found, 404). A
product's conflict is the organization's, as the catalogue (a till of any store may
resolve it too)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select

from app.domain.operations import Entity, OpType
from app.domain.order_status import OrderStatus, is_editable
from app.domain.permissions import Action
from server.conflicts.schemas import ConflictOut, ResolveIn
from server.context import AppContext, StaffPrincipal
from server.db.base import utcnow
from server.db.models import Conflict, Order, Product, Staff
from server.db.retry import with_retries
from server.errors import ApiError, not_found
from server.feed.serialize import conflict_state
from server.sync.catalog import apply_product_fields
from server.sync.common import (
    OpContext,
    Outcome,
    Rejected,
    jsonable,
    staff_op_context,
)
from server.sync.order_edits import _apply, current_fields
from server.sync.order_limits import AboveLimit
from server.sync.orders import publish_order
from server.sync.product_codes import InvalidValue
from server.tenancy import scope as store_scope
from sync.payloads import ConflictResolve
from sync.protocol import OpStatus


def conflict_out(c: Conflict) -> ConflictOut:
    return ConflictOut.model_validate(conflict_state(c) | {"created_at": c.created_at,
                                                            "resolved_at": c.resolved_at})


#: what a store out of scope may not be asked for (403 store_scope)
CONFLICTS = "see to the conflicts"


def list_conflicts(
    ctx: AppContext, staff: StaffPrincipal, status: str | None, store_id: str | None,
    limit: int, offset: int,
) -> list[ConflictOut]:
    """Newest first: the conflicts of the stores in the caller's scope and every
    product's (``store_id``: that store's, 403 ``store_scope`` out of scope)."""
    with ctx.reader() as session:
        stmt = select(Conflict).where(Conflict.org_id == staff.org_id)
        if status:
            stmt = stmt.where(Conflict.status == status)
        stores = store_scope.stores_read(session, staff, store_id, CONFLICTS)
        if stores is not None:  # a store named: its own; else in scope, and every product's
            stmt = stmt.where(Conflict.store_id.in_(stores) if store_id else or_(
                Conflict.store_id.in_(stores), Conflict.entity_type == Entity.PRODUCT.value))
        stmt = stmt.order_by(Conflict.created_at.desc()).limit(limit).offset(offset)
        return [conflict_out(c) for c in session.scalars(stmt)]


def _values(conflict: Conflict, body: ResolveIn | ConflictResolve) -> dict[str, Any]:
    if body.choice == "server":
        return {}
    if body.choice == "terminal":
        return {name: side.get("terminal") for name, side in conflict.fields.items()}
    if not body.value:
        raise Rejected("a custom resolution needs value: {field: value}")
    extra = set(body.value) - set(conflict.fields)
    if extra:
        raise Rejected(f"these fields are not part of the conflict: {', '.join(sorted(extra))}")
    return dict(body.value)


DELETED_SINCE = ("the product was deleted after this conflict was raised, so its values can "
                 "no longer be changed; keep the server's state to close the conflict "
                 "(the product stays deleted)")


def _resolve_order(oc: OpContext, conflict: Conflict,
                   values: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Apply ``values`` to the order: (its version, the fields' values just before)."""
    order = oc.session.get(Order, conflict.entity_id, with_for_update=True)
    if order is None:
        raise Rejected("the order no longer exists")
    if not values:
        return order.version, {}
    if not is_editable(OrderStatus(order.status)):
        raise Rejected(f"the order is {order.status} now and cannot be edited")
    current = current_fields(oc.session, order)
    before = {n: current.get(n) for n in values}
    _apply(oc, order, values)  # the rules of a normal order.update (lines, discounts)
    order.version += 1
    order.updated_at = utcnow()
    oc.emit("offline_order.updated", publish_order(oc, order))
    return order.version, before


def _resolve_product(oc: OpContext, conflict: Conflict,
                     values: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """Apply ``values`` to the product as a product.update applies its fields (the same
    rules, barcodes free in the organization, feed and event): (its version, the values
    just before, the values as stored). A product deleted since is never brought back:
    only ``server`` closes."""
    product = oc.session.get(Product, conflict.entity_id, with_for_update=True)
    if product is None:
        raise Rejected("the product no longer exists")
    if not values:
        return product.version, {}, values
    if product.deleted:
        raise Rejected(DELETED_SINCE)
    stored, changes = apply_product_fields(oc, product, values, conflict_id=conflict.id)
    return product.version, {n: c["before"] for n, c in changes.items()}, stored


def resolve_in(oc: OpContext, conflict: Conflict, body: ResolveIn | ConflictResolve) -> Outcome:
    """Apply a resolution inside ``oc``'s transaction; the feed gets entity and conflict.
    The audit entry's ``before`` is each field's value when the resolution is applied
    (it may have changed since the conflict was raised)."""
    oc.require(Action.CONFLICT_RESOLVE)
    if conflict.status != "open":
        raise Rejected(f"the conflict is already {conflict.status}")
    values = _values(conflict, body)
    version: int | None = None
    before: dict[str, Any] = {}
    if values and conflict.kind != "field_conflict":
        raise Rejected(f"a {conflict.kind} conflict can only be resolved by keeping the server")
    if conflict.entity_type == Entity.ORDER:
        version, before = _resolve_order(oc, conflict, values)
    elif conflict.entity_type == Entity.PRODUCT:
        version, before, values = _resolve_product(oc, conflict, values)
    conflict.status = "resolved"
    conflict.resolution = jsonable({"choice": body.choice, "values": values})
    conflict.resolved_by = oc.actor.id
    conflict.resolved_at = utcnow()
    conflict.version += 1
    oc.session.flush()
    oc.feed.append(Entity.CONFLICT, conflict.id, conflict.version, conflict_state(conflict),
                   op_id=oc.op.op_id, store_id=conflict.store_id)
    oc.audit(conflict.entity_type, conflict.entity_id, OpType.CONFLICT_RESOLVE,
             {n: {"before": before.get(n), "after": v} for n, v in values.items()},
             reason=body.choice, store_id=conflict.store_id)
    return Outcome(OpStatus.APPLIED, version)


def resolve(ctx: AppContext, staff: StaffPrincipal, conflict_id: str, body: ResolveIn) -> ConflictOut:
    """POST /conflicts/{id}/resolve by a signed-in manager (tried again after a deadlock,
    server/db/retry.py)."""
    return with_retries(lambda: _resolve_once(ctx, staff, conflict_id, body))


def _resolve_once(ctx: AppContext, staff: StaffPrincipal, conflict_id: str, body: ResolveIn
                  ) -> ConflictOut:
    with ctx.writer.begin() as session:
        conflict = session.get(Conflict, conflict_id)
        if conflict is None or conflict.org_id != staff.org_id:
            raise not_found("Conflict")
        if conflict.entity_type != Entity.PRODUCT:  # (a product's: the organization's)
            store_scope.check_record_store(session, staff, conflict.store_id, "Conflict")
        session.refresh(conflict, with_for_update=True)
        # as a push's conflict.resolve: the conflict, then the order or product row, and
        # the store feed rows last (staff_op_context), never the feed first (a deadlock
        # with a push of the same entity on PostgreSQL)
        actor = session.get(Staff, staff.staff_id)
        assert actor is not None
        with staff_op_context(
            session, actor, staff.org_id, conflict.store_id, ctx.settings.webhook_urls,
            op_id_prefix="resolve", op_type=OpType.CONFLICT_RESOLVE,
            entity_id=conflict.entity_id, payload=body.model_dump(),
            device_id=conflict.device_id or "", org_wide=conflict.entity_type == Entity.PRODUCT,
        ) as oc:
            try:
                resolve_in(oc, conflict, body)
            except InvalidValue as exc:
                raise ApiError(422, "invalid_value", exc.reason, exc.details) from exc
            except AboveLimit as exc:  # an order's lines past the resolver's till limits
                raise ApiError(403, "above_limit", exc.reason, exc.details) from exc
            except Rejected as exc:
                status = 403 if "may not do" in exc.reason else 409
                raise ApiError(status, "cannot_resolve", exc.reason) from exc
        return conflict_out(conflict)


def conflict_resolve_op(oc: OpContext) -> Outcome:
    """The ``conflict.resolve`` operation: a manager resolved a conflict at a terminal."""
    p = oc.payload_as(ConflictResolve)
    conflict = oc.session.get(Conflict, p.conflict_id, with_for_update=True)
    if conflict is None or conflict.org_id != oc.terminal.org_id:
        raise Rejected(f"conflict {p.conflict_id} does not exist")
    if conflict.store_id != oc.terminal.store_id and conflict.entity_type != Entity.PRODUCT:
        raise Rejected("the conflict belongs to another store")
    return resolve_in(oc, conflict, p)
