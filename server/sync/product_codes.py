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
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Text, cast, exists, func, literal, select, tuple_, type_coerce
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
from server.context import TerminalPrincipal
from server.db.models import Product
from server.sync.common import OpContext, Rejected, parse_payload
from sync.payloads import EntityUpdate, ProductCreate
from sync.protocol import Operation, OpType


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


Claim = tuple[str, str, str]  # (kind: "barcode" or "sku", org_id, value as stored)
_HELD = "tillsync.product_code_locks"


def _held(session: Session) -> set[int]:
    """The code locks this session's transaction took outside any savepoint (one taken
    in a savepoint is released if the savepoint is rolled back: not remembered)."""
    transaction = session.get_transaction()
    entry = session.info.get(_HELD)
    if entry is None or entry[0] is not transaction:
        entry = session.info[_HELD] = (transaction, set())
    return entry[1]


def _take(session: Session, claims: Iterable[Claim]) -> None:
    """On PostgreSQL, serialize the writers of these barcodes and SKUs until commit (a
    transaction-scoped advisory lock per (kind, organization, value)), so two products
    written at once never both take a free code or SKU. SQLite has one writer at a time.

    Every writer takes its codes in one global order, sorted by (kind, organization,
    value), all at once: a push's product ops before any of them runs
    (:func:`lock_product_ops`), a single write's codes when it checks them. Taken op by
    op, two writers could take the same codes in opposite orders and deadlock. A code
    this transaction already holds is not locked again."""
    if session.get_bind().dialect.name != "postgresql":
        return
    held = _held(session)
    keys = [key for key in dict.fromkeys(
        int.from_bytes(hashlib.blake2b(f"{kind}:{org_id}:{value}".encode(),
                                       digest_size=8).digest(), "big", signed=True)
        for kind, org_id, value in sorted(set(claims))) if key not in held]
    for key in keys:
        session.execute(select(func.pg_advisory_xact_lock(key)))
    if not session.in_nested_transaction():
        held.update(keys)


def _claims(op: Operation, org_id: str) -> list[Claim]:
    """The SKU and barcodes (as stored) a product.create or product.update may claim:
    every code of its values, a superset of what its checks lock. Nothing for another op or
    for codes the rules refuse (the op is then rejected before it locks anything)."""
    try:
        if op.type is OpType.PRODUCT_CREATE:
            p = parse_payload(ProductCreate, op.payload)
            values: dict[str, Any] = {"sku": p.sku, "barcodes": p.barcodes}
        elif op.type is OpType.PRODUCT_UPDATE:
            fields = parse_payload(EntityUpdate, op.payload).fields
            values = {n: fields[n].value for n in ("sku", "barcodes") if n in fields}
        else:
            return []
        stored = check_fields(values)
    except (Rejected, ProductFieldError):
        return []
    return ([("sku", org_id, stored["sku"])] if "sku" in stored else []) + \
        [("barcode", org_id, code) for code in stored.get("barcodes") or []]


def lock_product_ops(session: Session,
                     pushes: Sequence[tuple[TerminalPrincipal, Sequence[Operation]]]) -> None:
    """Before a transaction's pushed ops run (on PostgreSQL): the rows of the products
    its product.update ops edit, by id, then every code its product ops may claim, in the
    codes' one order (:func:`_take`); the ops' own checks then find them held.

    The rows come first because a single write takes them first too (a product.update or
    a back-office PATCH locks the product, then checks its codes; a conflict resolution
    the conflict, the product, the codes). Before the stock levels (the bulk order
    writer) and, as ever, before the store feed rows, which are taken last."""
    if session.get_bind().dialect.name != "postgresql":
        return
    edited: set[tuple[str, str]] = set()
    claims: list[Claim] = []
    for terminal, ops in pushes:
        for op in ops:
            if op.type is OpType.PRODUCT_UPDATE:
                edited.add((terminal.org_id, op.entity_id))
            claims += _claims(op, terminal.org_id)
    if edited:
        session.execute(select(Product.id).where(tuple_(Product.org_id, Product.id).in_(edited))
                        .order_by(Product.id).with_for_update())
    _take(session, claims)


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


def _barcodes_free(oc: OpContext, product_id: str, codes: list[str]) -> None:
    """InvalidValue naming the other product if one of ``codes`` (stored form, locked)
    already belongs to another live product of the organization (an inactive product
    keeps its codes; a deleted one has released them)."""
    owners = _owners(oc.session, oc.terminal.org_id, product_id, codes)
    for code in codes:
        for other_id, name, sku, held in owners:
            if code in {stored_form(c) for c in held if isinstance(c, str)}:
                raise _invalid(barcode_taken(code, name, sku), other_id)


def _sku_free(oc: OpContext, product_id: str, sku: str) -> None:
    """InvalidValue naming the other product if another live product of the organization
    already has ``sku`` (locked). Compared exactly (case and spaces count), as the
    terminal's store compares SKUs; an inactive product keeps its SKU, a deleted one has
    released it."""
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
    org_id = oc.terminal.org_id
    new_sku = "sku" in stored and (current is None or stored["sku"] != current.get("sku"))
    codes = stored.get("barcodes") or []
    _take(oc.session, ([("sku", org_id, stored["sku"])] if new_sku else [])
          + [("barcode", org_id, code) for code in codes])  # at once, in the codes' order
    if new_sku:
        _sku_free(oc, product_id, stored["sku"])
    if codes:
        _barcodes_free(oc, product_id, codes)
    return stored
