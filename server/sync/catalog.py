"""stock.adjust (a delta, never a conflict), product.create and product.update (merged),
and the back office's product deletion.

Product values pass the shared product rules (app/domain/product_rules.py, the rules of
the terminal's catalog editor), and a barcode and an SKU may each belong to one live
product of the organization only; a value they refuse rejects the whole op
(:class:`InvalidValue`, the rule's message naming the field), nothing written. :func:`apply_product_fields` is the
one place product field changes are checked and applied: a product.update's merged
fields and a resolved product conflict's values (server/conflicts/service.py).

Each product change emits its event (``product.created``, ``product.updated`` with the
changed fields, ``product.deleted``) in the transaction of the change."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Text, cast, exists, func, literal, select, type_coerce
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, array
from sqlalchemy.orm import Session

from app.domain.permissions import Action
from app.domain.product_rules import (
    CHECKS,
    ProductFieldError,
    barcode_taken,
    check_fields,
    check_product,
    code_spellings,
    sku_taken,
    stored_form,
)
from server.db.base import utcnow
from server.db.models import Product, StockMovement
from server.feed.serialize import PRODUCT_FIELDS, product_state
from server.sync.common import OpContext, Outcome, Rejected, jsonable, parse_payload
from server.sync.merge import merge_fields, record_conflict
from server.sync.stock import apply_delta
from sync.payloads import EntityUpdate, ProductCreate, StockAdjust
from sync.protocol import OpStatus

KIND_ACTION = {
    "count": Action.STOCK_COUNT,
    "receive": Action.STOCK_RECEIVE,
    "adjust": Action.STOCK_ADJUST,
}


def stock_adjust(oc: OpContext) -> Outcome:
    p = parse_payload(StockAdjust, oc.op.payload)
    action = KIND_ACTION.get(p.kind)
    if action is None:
        raise Rejected(f"unknown stock movement kind {p.kind!r} (count, receive, adjust)")
    oc.require(action)
    if oc.session.get(StockMovement, p.movement_id) is not None:
        return Outcome(OpStatus.APPLIED, 1, flags=["movement_already_recorded"])
    product = oc.session.get(Product, p.product_id)
    if product is None or product.org_id != oc.terminal.org_id:
        oc.flags.append("unknown_product")
    movement = apply_delta(
        oc, p.product_id, p.qty_delta_milli, p.kind, movement_id=p.movement_id,
        reason=p.reason, reference=p.reference, created_at=p.created_at,
    )
    oc.audit("stock", p.product_id, "stock.adjust",
             {"qty_milli": {"before": movement.qty_after_milli - p.qty_delta_milli,
                            "after": movement.qty_after_milli}}, reason=p.reason)
    return Outcome(OpStatus.APPLIED, 1, flags=list(oc.flags))


def publish_product(oc: OpContext, product: Product) -> dict[str, Any]:
    """Put the product's new state into the feed (every store of the org for an org-wide
    writer) and return it, for the event the caller emits in the same transaction."""
    oc.session.flush()
    state = product_state(product)
    oc.feed.append(
        "product", product.id, product.version, state, deleted=product.deleted,
        origin_device_id=oc.terminal.terminal_id, op_id=oc.op.op_id,
    )
    return state


# ---------------------------------------------------------------- product values


class InvalidValue(Rejected):
    """A product value the shared rules refuse: the op is rejected with the rule's
    message (the back office answers 422 ``invalid_value``); ``field`` names the field,
    ``details`` what the back office adds to its error (``field``, and for a barcode of
    another product that product's ``product_id``)."""

    def __init__(self, reason: str, field: str | None = None,
                 other_product_id: str | None = None) -> None:
        super().__init__(reason)
        self.field = field
        self.details: dict[str, Any] = {"field": field}
        if other_product_id is not None:
            self.details["product_id"] = other_product_id


def check_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` through the shared product rules: as stored (barcodes normalized), or
    InvalidValue with the rule's message."""
    try:
        return check_fields(values)
    except ProductFieldError as exc:
        raise InvalidValue(str(exc), exc.field) from exc


def _invalid(exc: ProductFieldError, other_product_id: str | None = None) -> InvalidValue:
    return InvalidValue(str(exc), exc.field, other_product_id)


def _lock(session: Session, kind: str, org_id: str, values: Iterable[str]) -> None:
    """On PostgreSQL, serialize the writers of these barcodes or SKUs (``kind``) in this
    organization until commit (a transaction-scoped advisory lock per value, in key order),
    so two products written at once never both take a free code or SKU. SQLite has one
    writer at a time."""
    if session.get_bind().dialect.name != "postgresql":
        return
    keys = sorted({int.from_bytes(hashlib.blake2b(f"{kind}:{org_id}:{value}".encode(),
                                                  digest_size=8).digest(), "big", signed=True)
                   for value in values})
    for key in keys:
        session.execute(select(func.pg_advisory_xact_lock(key)))


def _owners(session: Session, org_id: str, product_id: str, codes: list[str]
            ) -> list[tuple[str, str, str, list[Any]]]:
    """(id, name, sku, barcodes) of the organization's live (not deleted) products other
    than ``product_id`` holding any of ``codes`` (also in their UPC-A spelling)."""
    wanted = code_spellings(codes)
    if session.get_bind().dialect.name == "postgresql":
        holds = type_coerce(Product.barcodes, JSONB).has_any(
            cast(array(sorted(wanted)), ARRAY(Text)))
    else:
        each = func.json_each(Product.barcodes).table_valued("value")
        holds = exists(select(literal(1)).select_from(each).where(each.c.value.in_(wanted)))
    rows = session.execute(
        select(Product.id, Product.name, Product.sku, Product.barcodes)
        .where(Product.org_id == org_id, Product.deleted.is_(False), Product.id != product_id,
               holds)
        .order_by(Product.id))
    return [(r.id, r.name, r.sku, list(r.barcodes or [])) for r in rows]


def check_barcodes_free(oc: OpContext, product_id: str, codes: list[str]) -> None:
    """InvalidValue naming the other product if one of ``codes`` (stored form) already
    belongs to another live product of the organization (an inactive product keeps its
    codes; a deleted one has released them)."""
    if not codes:
        return
    _lock(oc.session, "barcode", oc.terminal.org_id, codes)
    owners = _owners(oc.session, oc.terminal.org_id, product_id, codes)
    for code in codes:
        for other_id, name, sku, held in owners:
            if code in {stored_form(c) for c in held if isinstance(c, str)}:
                raise _invalid(barcode_taken(code, name, sku), other_id)


def check_sku_free(oc: OpContext, product_id: str, sku: str) -> None:
    """InvalidValue naming the other product if another live product of the organization
    already has ``sku``. Compared exactly (case and spaces count), as the terminal's store
    compares SKUs; an inactive product keeps its SKU, a deleted one has released it."""
    _lock(oc.session, "sku", oc.terminal.org_id, [sku])
    other = oc.session.execute(
        select(Product.id, Product.name)
        .where(Product.org_id == oc.terminal.org_id, Product.deleted.is_(False),
               Product.id != product_id, Product.sku == sku)
        .order_by(Product.id).limit(1)).first()
    if other is not None:
        raise _invalid(sku_taken(sku, other.name), other.id)


def checked_product_values(oc: OpContext, product_id: str, values: Mapping[str, Any],
                           current: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``values`` ({field: new value}) of product ``product_id`` as they will be stored,
    checked: each with the shared product rules, the product they make (``current``
    with ``values``) with them too (:func:`check_product`), a new SKU and new barcodes
    free in the organization.

    The product's other fields are checked as well (a product left invalid by an edit
    is refused, as the terminal's editor refuses it), except its barcodes, which are
    judged when they change: an old code stored before the rules is not re-judged; nor is
    an SKU another product shared before the rule, until it changes."""
    try:
        stored = check_product(values, current)
    except ProductFieldError as exc:
        raise _invalid(exc) from exc
    if "sku" in stored and (current is None or stored["sku"] != current.get("sku")):
        check_sku_free(oc, product_id, stored["sku"])
    if "barcodes" in stored:
        check_barcodes_free(oc, product_id, stored["barcodes"])
    return stored


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


def product_create(oc: OpContext) -> Outcome:
    if not (oc.can(Action.CATALOG_EDIT) or oc.can(Action.PRODUCT_QUICK_ADD)):
        oc.require(Action.CATALOG_EDIT)
    # the rules see the values as sent (a price "350" is not a number of cents)
    raw = oc.op.payload if isinstance(oc.op.payload, dict) else {}
    check_values({n: v for n, v in raw.items() if n in CHECKS})
    p = parse_payload(ProductCreate, oc.op.payload)
    if oc.session.get(Product, oc.op.entity_id) is not None:
        raise Rejected(f"product {oc.op.entity_id} already exists")
    values = checked_product_values(oc, oc.op.entity_id, p.model_dump())
    product = Product(id=oc.op.entity_id, org_id=oc.terminal.org_id, **values)
    oc.session.add(product)
    oc.audit("product", product.id, "product.create",
             {k: {"before": None, "after": v} for k, v in jsonable(values).items()})
    oc.emit("product.created", {"product": publish_product(oc, product)})
    return Outcome(OpStatus.APPLIED, product.version)


def product_update(oc: OpContext) -> Outcome:
    oc.require(Action.CATALOG_EDIT)
    p = parse_payload(EntityUpdate, oc.op.payload)
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
        conflict = record_conflict(oc, "product", product.id, "edit_of_deleted", both)
        return Outcome(OpStatus.CONFLICT, product.version, conflict_id=conflict.id,
                       reason="the product was deleted on the server")
    to_apply, conflicts = merge_fields(current, p.fields, _barcode_set)
    if to_apply:  # the merged product is checked as a whole (apply_product_fields)
        _, changes = apply_product_fields(oc, product, to_apply, reason=p.reason)
        oc.audit("product", product.id, "product.update", changes, reason=p.reason)
    if conflicts:
        conflict = record_conflict(oc, "product", product.id, "field_conflict", conflicts)
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
    oc.audit("product", product.id, "product.delete", changes, reason=reason)
    oc.emit("product.deleted", {"product": publish_product(oc, product), "changes": changes,
                                "reason": reason})
    return Outcome(OpStatus.APPLIED, product.version)
