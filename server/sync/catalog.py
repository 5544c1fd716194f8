"""stock.adjust (a delta, never a conflict; of a product of the organization only),
product.create and product.update (merged),
and the back office's product deletion.

Product values pass the shared product rules (app/domain/product_rules.py, the rules of
the terminal's catalog editor), and a barcode and an SKU may each belong to one live
product of the organization only (the checks: server/sync/product_codes.py); a value
they refuse rejects the whole op (:class:`InvalidValue`, the rule's message naming the
field), nothing written. :func:`apply_product_fields` is the one place product field
changes are checked and applied: a product.update's merged fields and a resolved product
conflict's values (server/conflicts/service.py).

Each product change emits its event (``product.created``, ``product.updated`` with the
changed fields, ``product.deleted``) in the transaction of the change."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.domain import stock_rules
from app.domain.limits import MAX_QTY_MILLI, fits
from app.domain.operations import CATALOGUE, Entity, OpType
from app.domain.permissions import Action
from app.domain.product_rules import CHECKS, stored_form
from server.db.base import utcnow
from server.db.models import Product, StockMovement
from server.feed.serialize import PRODUCT_FIELDS, product_state
from server.sync.common import OpContext, Outcome, Rejected, jsonable
from server.sync.merge import merge_fields, record_conflict
from server.sync.product_codes import check_values, checked_product_values
from server.sync.stock import apply_count, apply_delta
from sync.payloads import EntityUpdate, ProductCreate, StockAdjust
from sync.protocol import OpStatus

#: a stock movement's kind -> the action it needs (the catalogue's permission)
KIND_ACTION = CATALOGUE[OpType.STOCK_ADJUST].permission.by_value


def stock_adjust(oc: OpContext) -> Outcome:
    p = oc.payload_as(StockAdjust)
    action = KIND_ACTION.get(p.kind)
    if action is None:
        raise Rejected(f"unknown stock movement kind {p.kind!r} (count, receive, adjust)")
    oc.require(action)
    if not fits(p.qty_delta_milli, -MAX_QTY_MILLI, MAX_QTY_MILLI):
        raise Rejected(f"a stock movement is a whole number of thousandths from "
                       f"{-MAX_QTY_MILLI:,} to {MAX_QTY_MILLI:,}")
    product = oc.session.get(Product, p.product_id)
    if product is None or product.org_id != oc.terminal.org_id:
        # a count or delivery is of a product the till knows from this organization's
        # catalog (a sale of an unknown product is a recorded fact: only flagged)
        raise Rejected(f"product {p.product_id} is not in this organization's catalog")
    if (held := oc.session.get(StockMovement, p.movement_id)) is not None:
        # the same movement again (a till restored from a backup resends it under a new
        # op_id) is a duplicate; that id on any other movement would swallow this one
        if held.store_id != oc.terminal.store_id or held.product_id != p.product_id:
            raise Rejected(f"movement id {p.movement_id} is already used by another stock "
                           "movement; each movement needs its own id")
        return Outcome(OpStatus.APPLIED, 1, flags=["movement_already_recorded"])
    if p.kind == stock_rules.COUNT and p.counted_milli is not None:  # an exact count
        movement, ledger = apply_count(
            oc, p.product_id, p.counted_milli, p.created_at, movement_id=p.movement_id,
            reason=p.reason, reference=p.reference)
        oc.audit("stock", p.product_id, OpType.STOCK_ADJUST,
                 {"qty_milli": {"before": movement.qty_after_milli - movement.qty_delta_milli,
                                "after": movement.qty_after_milli},
                  "count": {"counted": p.counted_milli, "ledger_at_count": ledger,
                            "till_expected_move": p.qty_delta_milli, "count_id": p.count_id}},
                 reason=p.reason)
        return Outcome(OpStatus.APPLIED, 1, flags=list(oc.flags))
    movement = apply_delta(
        oc, p.product_id, p.qty_delta_milli, p.kind, movement_id=p.movement_id,
        reason=p.reason, reference=p.reference, created_at=p.created_at,
    )
    oc.audit("stock", p.product_id, OpType.STOCK_ADJUST,
             {"qty_milli": {"before": movement.qty_after_milli - p.qty_delta_milli,
                            "after": movement.qty_after_milli}}, reason=p.reason)
    return Outcome(OpStatus.APPLIED, 1, flags=list(oc.flags))


def publish_product(oc: OpContext, product: Product) -> dict[str, Any]:
    """Put the product's new state into the feed (every store of the org for an org-wide
    writer) and return it, for the event the caller emits in the same transaction."""
    oc.session.flush()
    state = product_state(product)
    oc.publish(Entity.PRODUCT, product.id, product.version, state, deleted=product.deleted)
    return state


# ---------------------------------------------------------------- product values


def apply_product_fields(oc: OpContext, product: Product, values: Mapping[str, Any],
                         reason: str | None = None, **event: Any
                         ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check ``values`` (:func:`checked_product_values`) and apply them to ``product``:
    version + 1, the new state into the feed of every store, ``product.updated`` (with
    ``reason`` and the ``event`` extras). Returns (the values as stored, the changes
    ``{field: {before, after}}``) for the caller's audit entry. InvalidValue: nothing set."""
    current = {name: getattr(product, name) for name in PRODUCT_FIELDS}
    stored = checked_product_values(oc, product.id, values, current)
    for name, value in stored.items():
        setattr(product, name, jsonable(value))
    product.version += 1
    product.updated_at = utcnow()
    changes = jsonable({n: {"before": current[n], "after": v} for n, v in stored.items()})
    oc.emit("product.updated", {"product": publish_product(oc, product), "changes": changes,
                                "reason": reason, **event})
    return stored, changes


def _barcode_set(name: str, value: Any) -> Any:
    """Merge comparisons: a list of barcodes is a set of codes in their stored form."""
    if name == "barcodes" and isinstance(value, list) and all(isinstance(c, str) for c in value):
        return sorted(stored_form(c) for c in value)
    return value


# ---------------------------------------------------------------- product ops


def check_raw_values(payload: dict[str, Any]) -> None:
    """The product rules on a new product's values as sent (a price "350" is not a
    number of cents), before the payload is parsed; InvalidValue in the rule's words."""
    check_values({n: v for n, v in payload.items() if n in CHECKS})


def product_create(oc: OpContext) -> Outcome:
    oc.require_any(CATALOGUE[OpType.PRODUCT_CREATE].permission.actions_for(oc.op.payload))
    check_raw_values(oc.op.payload if isinstance(oc.op.payload, dict) else {})
    p = oc.payload_as(ProductCreate)
    if oc.session.get(Product, oc.op.entity_id) is not None:
        raise Rejected(f"product {oc.op.entity_id} already exists")
    values = checked_product_values(oc, oc.op.entity_id, p.model_dump())
    product = Product(id=oc.op.entity_id, org_id=oc.terminal.org_id, **values)
    oc.session.add(product)
    oc.audit(Entity.PRODUCT, product.id, OpType.PRODUCT_CREATE,
             {k: {"before": None, "after": v} for k, v in jsonable(values).items()})
    oc.emit("product.created", {"product": publish_product(oc, product)})
    return Outcome(OpStatus.APPLIED, product.version)


def product_update(oc: OpContext) -> Outcome:
    oc.require(Action.CATALOG_EDIT)
    p = oc.payload_as(EntityUpdate)
    unknown = set(p.fields) - set(PRODUCT_FIELDS)
    if unknown or not p.fields:
        raise Rejected(f"these product fields cannot be edited: {', '.join(sorted(unknown))}"
                       if unknown else "a product.update must change at least one field")
    # every value of the edit passes the rules, also one that will clash (so no invalid
    # value waits in a conflict record) or is already there
    check_values({n: e.value for n, e in p.fields.items()})
    product = oc.session.get(Product, oc.op.entity_id, with_for_update=True)
    if product is None or product.org_id != oc.terminal.org_id:
        raise Rejected(f"product {oc.op.entity_id} does not exist on the server")
    current: dict[str, Any] = {name: getattr(product, name) for name in PRODUCT_FIELDS}
    if product.deleted:
        both = {n: {"base": e.base, "server": current[n], "terminal": e.value}
                for n, e in p.fields.items()}
        conflict = record_conflict(oc, Entity.PRODUCT, product.id, "edit_of_deleted", both)
        return Outcome(OpStatus.CONFLICT, product.version, conflict_id=conflict.id,
                       reason="the product was deleted on the server")
    to_apply, conflicts = merge_fields(current, p.fields, _barcode_set)
    if to_apply:  # the merged product is checked as a whole (apply_product_fields)
        _, changes = apply_product_fields(oc, product, to_apply, reason=p.reason)
        oc.audit(Entity.PRODUCT, product.id, OpType.PRODUCT_UPDATE, changes, reason=p.reason)
    if conflicts:
        conflict = record_conflict(oc, Entity.PRODUCT, product.id, "field_conflict", conflicts)
        return Outcome(OpStatus.CONFLICT, product.version, conflict_id=conflict.id,
                       reason=f"changed on the server too: {', '.join(sorted(conflicts))}",
                       flags=["partially_applied"] if to_apply else [])
    return Outcome(OpStatus.APPLIED, product.version, flags=[] if to_apply else ["no_change"])


def product_delete_in(oc: OpContext, reason: str | None) -> Outcome:
    """Soft-delete a product of the organization (product.delete: owner, admin, manager;
    stock staff edit the catalog but may not delete from it): ``deleted`` and not
    ``active``, its barcodes released (the audit entry keeps them), into every store's
    feed with ``deleted: true``, so terminals stop finding it by search or scan; order
    lines keep their own name, SKU, barcode and price. Deleting again changes nothing
    (flag ``already_deleted``). The permission is checked here, by every caller's path,
    before anything is read or written."""
    oc.require(Action.PRODUCT_DELETE)
    product = oc.session.get(Product, oc.op.entity_id, with_for_update=True)
    if product is None or product.org_id != oc.terminal.org_id:
        raise Rejected(f"product {oc.op.entity_id} does not exist on the server")
    if product.deleted:
        return Outcome(OpStatus.APPLIED, product.version, flags=["already_deleted"])
    changes = jsonable({
        "deleted": {"before": False, "after": True},
        "active": {"before": product.active, "after": False},
        "barcodes": {"before": list(product.barcodes or []), "after": []},
    })
    product.deleted, product.active, product.barcodes = True, False, []
    product.version += 1
    product.updated_at = utcnow()
    oc.audit(Entity.PRODUCT, product.id, "product.delete", changes, reason=reason)
    oc.emit("product.deleted", {"product": publish_product(oc, product), "changes": changes,
                                "reason": reason})
    return Outcome(OpStatus.APPLIED, product.version)
