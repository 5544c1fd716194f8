"""/products: head office edits the organization's catalog centrally.

Writes go through the very handlers of a terminal's push (``product.create``,
``product.update`` in server/sync/catalog.py): the same permission check, product rules
(a value they refuse is ``422 invalid_value`` with the message a push's rejection
carries), field-level merge, conflict records, audit entries, events, and one feed
entry per store of the org, so every terminal gets the change on its next pull. A
deletion (back office only; permission product.delete, which stock staff lack) is
``catalog.product_delete_in``, written the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Body, Query
from sqlalchemy import func, or_, select

from app.domain.ids import new_id
from app.domain.limits import ID_LENGTH, MAX_NAME
from app.domain.permissions import Action
from server.auth.deps import CtxDep, StaffDep, require
from server.backoffice import ops
from server.backoffice.schemas import ProductCreateIn, ProductDeleteIn, ProductOut, ProductPage
from server.context import AppContext, StaffPrincipal
from server.db.models import Product
from server.errors import ApiError, not_found
from server.feed.serialize import product_state
from server.pagination import IdPath, Limit, Offset
from server.sync import catalog, product_codes
from server.sync.common import OpContext, Outcome
from sync.payloads import EntityUpdate
from sync.protocol import ErrorEnvelope, OpType

router = APIRouter(prefix="/products", tags=["back office"])

StoreParam = Annotated[str | None, Query(
    max_length=ID_LENGTH, description="the store the change is recorded against (audit entry, "
    "conflict record); default the organization's first store. The change itself is org-wide.")]

PATCH_EXAMPLES = {
    "price": {
        "summary": "change the price",
        "value": {"fields": {"price": {"base": 299, "value": 349}},
                  "reason": "new supplier price"},
    },
    "several": {
        "summary": "several fields at once",
        "value": {"fields": {"name": {"base": "Shelf Biscuits", "value": "Shelf Biscuits 500 g"},
                             "active": {"base": True, "value": False}}},
    },
}


INVALID_VALUE = {
    "model": ErrorEnvelope,
    "description": "`invalid_value`: a value the product rules refuse (the rules of the "
    "terminal's catalog editor, app/domain/product_rules.py): an empty SKU or name, a price "
    "that is negative or not a whole number of cents, a tax rate outside 0-100 %, a barcode "
    "with a wrong check digit or listed twice, a barcode that already belongs to another "
    "product of the organization (the message names it, `details.product_id` is its id). "
    "The message is the one a pushed operation's rejection carries and names the field; "
    "`details.field` is the field's name. Nothing is changed. A body of the wrong shape "
    "(a missing field, text for a number) is `validation_error`, its details listing the "
    "fields.",
}


def _checked(handler: Callable[[OpContext], Outcome]) -> Callable[[OpContext], Outcome]:
    """``handler`` with a value the product rules refuse answered 422 invalid_value (the
    transaction is rolled back: nothing is written)."""
    def run(oc: OpContext) -> Outcome:
        try:
            return handler(oc)
        except product_codes.InvalidValue as exc:
            raise ApiError(422, "invalid_value", exc.reason, exc.details) from exc
    return run


def _get(ctx: AppContext, staff: StaffPrincipal, product_id: str) -> ProductOut:
    """A product of the caller's organization, deleted or not (404 otherwise)."""
    with ctx.reader() as session:
        product = session.get(Product, product_id)
        if product is None or product.org_id != staff.org_id:
            raise not_found("Product")
        return ProductOut.model_validate(product_state(product))


@router.get("", response_model=ProductPage)
def list_products(
    staff: StaffDep,
    ctx: CtxDep,
    query: Annotated[str | None, Query(max_length=MAX_NAME,
                                       description="part of the name or SKU (any case)")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
    include_deleted: Annotated[bool, Query(description="also list deleted products")] = False,
) -> ProductPage:
    """The organization's products (any signed-in staff member), by name; deleted ones
    only with ``include_deleted``."""
    conds = [Product.org_id == staff.org_id]
    if not include_deleted:
        conds.append(Product.deleted.is_(False))
    if query:
        pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conds.append(or_(Product.name.ilike(pattern, escape="\\"),
                         Product.sku.ilike(pattern, escape="\\")))
    with ctx.reader() as session:
        total = session.scalar(select(func.count()).select_from(Product).where(*conds)) or 0
        rows = session.scalars(select(Product).where(*conds).order_by(Product.name, Product.id)
                               .limit(limit).offset(offset)).all()
        return ProductPage(items=[ProductOut.model_validate(product_state(p)) for p in rows],
                           total=total, limit=limit, offset=offset)


@router.get("/{product_id}", response_model=ProductOut)
def get_product(product_id: IdPath, staff: StaffDep, ctx: CtxDep) -> ProductOut:
    return _get(ctx, staff, product_id)


@router.post("", response_model=ProductOut, status_code=201,
             responses={409: {"model": ErrorEnvelope,
                              "description": "`exists`: a product with this id exists"},
                        422: INVALID_VALUE})
def create_product(body: ProductCreateIn, staff: StaffDep, ctx: CtxDep,
                   store_id: StoreParam = None) -> ProductOut:
    """product.create (catalog.edit), sent to every store of the organization. The values
    pass the product rules, and the SKU and each barcode must be free in the organization
    (422 invalid_value otherwise, ``details.product_id`` naming the product that holds
    it; nothing created)."""
    require(staff, Action.CATALOG_EDIT)
    product_id = body.id or new_id()
    with ctx.reader() as session:
        if session.get(Product, product_id) is not None:
            raise ApiError(409, "exists", f"Product {product_id} already exists")
    home = ops.home_store(ctx, staff, store_id)
    ops.run(ctx, staff, home, OpType.PRODUCT_CREATE, product_id,
            body.model_dump(mode="json", exclude={"id"}), _checked(catalog.product_create),
            org_wide=True)
    return _get(ctx, staff, product_id)


@router.patch(
    "/{product_id}", response_model=ProductOut,
    responses={409: {"model": ErrorEnvelope,
                     "description": "conflict: a field changed since its base; nothing of it "
                     "was overwritten; `details.conflict_id` names the record kept for "
                     "`/conflicts` (other fields of the edit were applied)"},
               422: INVALID_VALUE},
)
def update_product(
    product_id: IdPath,
    staff: StaffDep,
    ctx: CtxDep,
    body: Annotated[EntityUpdate, Body(openapi_examples=PATCH_EXAMPLES)],
    store_id: StoreParam = None,
) -> ProductOut:
    """Field edits ``{"fields": {"price": {"base": old, "value": new}, ...}, "reason": ...}``
    (catalog.edit): ``base`` is the value the editor started from. Merged exactly like a
    terminal's product.update: base equal to the server value -> applied (version + 1, sent
    to every store); value already there -> no change; otherwise -> 409 conflict.
    Editable fields: sku, name, category, price, tax_rate_ppm, barcodes, active,
    stock_tracked, reorder_level_milli, sold_by_weight (others: 422 rejected). Every
    ``value`` passes the product rules, and so does the product the edit leaves (its
    barcodes are judged when they change); a new SKU and new barcodes must be free in the
    organization: 422 invalid_value otherwise, nothing changed, no conflict recorded."""
    require(staff, Action.CATALOG_EDIT)
    _get(ctx, staff, product_id)
    home = ops.home_store(ctx, staff, store_id)
    outcome, _ = ops.run(ctx, staff, home, OpType.PRODUCT_UPDATE, product_id,
                         body.model_dump(mode="json"), _checked(catalog.product_update),
                         org_wide=True)
    if (err := ops.conflict_error(outcome)) is not None:
        raise err
    return _get(ctx, staff, product_id)


@router.delete(
    "/{product_id}", response_model=ProductOut,
    responses={403: {"model": ErrorEnvelope, "description": "permission_denied: the caller's "
                     "role lacks product.delete (owner, admin and manager have it; stock "
                     "staff and cashiers do not); nothing is changed"},
               404: {"model": ErrorEnvelope, "description": "not_found: no such product in "
                     "the caller's organization"}},
)
def delete_product(
    product_id: IdPath,
    staff: StaffDep,
    ctx: CtxDep,
    body: Annotated[ProductDeleteIn | None, Body()] = None,
    store_id: StoreParam = None,
) -> ProductOut:
    """Soft delete (product.delete: owner, admin, manager; stock staff, who may edit the
    catalog, and cashiers get 403 permission_denied): the product stays, with
    ``deleted: true``, ``active: false`` and no barcodes (the audit entry keeps them), and
    goes to every store's feed, so terminals no longer find it by search or scan; orders
    keep their lines. Publishes product.deleted. Deleting a deleted product
    again answers the same 200 and changes nothing. Another organization's product: 404."""
    require(staff, Action.PRODUCT_DELETE)
    current = _get(ctx, staff, product_id)
    if current.deleted:
        return current
    reason = body.reason if body is not None else None
    home = ops.home_store(ctx, staff, store_id)
    ops.run(ctx, staff, home, OpType.PRODUCT_UPDATE, product_id,
            {"deleted": True, "reason": reason},
            lambda oc: catalog.product_delete_in(oc, reason), org_wide=True)
    return _get(ctx, staff, product_id)
