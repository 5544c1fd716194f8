"""Product values and codes: the shared product rules' checks, and an SKU and a barcode
each belonging to one live product of the organization.

Why a module of its own: these checks serve every writer of products, not only the
push's product ops (server/sync/catalog.py) but also the back office's /products and
the resolution of product conflicts (server/conflicts/service.py), and the advisory locks
they take to keep two writers from both taking a free code are part of the server's lock
order (tests/server/test_lock_order.py); with the stock adjustment and the ops in one
file, that was hard to see."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Text, cast, exists, func, literal, select, type_coerce
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, array
from sqlalchemy.orm import Session

from app.domain.product_rules import (
    ProductFieldError,
    barcode_taken,
    check_fields,
    check_product,
    code_spellings,
    sku_taken,
    stored_form,
)
from server.db.models import Product
from server.sync.common import OpContext, Rejected


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
