"""The catalogue of sync operations: every operation type declared once.

An operation is one intent a person had at a till ("sell these", "refund that"). Its
type names, here and nowhere else:

- the payload model (app/domain/payloads.py) the till builds and the server reads;
- the entity it is about (what ``entity_id`` names) and the entity whose version the
  server's answer carries (a payment or refund changes its order);
- the ids of other entities its payload refers to;
- the personal fields it carries (sealed at rest in the till's outbox);
- the permission the actor needs (the server checks it; the till offers accordingly);
- how it conflicts, whether it is privileged (needs the approver's proof), and whether
  the server writes it to the store's feed or to every store of the organization.

The till's services, the outbox, the terminal's push, conflict handling and apply, the
server's dispatch and /openapi.json read this table instead of matching type strings.
Adding an operation type is one :data:`CATALOGUE` entry, its handler on the server and
its service on the till.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from app.domain import payloads as p
from app.domain.permissions import Action


class OpType(StrEnum):
    ORDER_CREATE = "order.create"
    ORDER_UPDATE = "order.update"
    ORDER_DELETE = "order.delete"
    PAYMENT_RECORD = "payment.record"
    REFUND_CREATE = "refund.create"
    APPROVAL_REQUEST = "approval.request"
    APPROVAL_DECIDE = "approval.decide"
    STOCK_ADJUST = "stock.adjust"
    PRODUCT_CREATE = "product.create"
    PRODUCT_UPDATE = "product.update"
    CUSTOMER_UPSERT = "customer.upsert"
    CONFLICT_RESOLVE = "conflict.resolve"
    SHIFT_OPEN = "shift.open"
    SHIFT_CLOSE = "shift.close"
    CASH_MOVE = "cash.move"
    STOCK_ACCEPT = "stock.accept"


class Entity(StrEnum):
    """What an operation is about, and the ``entity_type`` of the change feed."""

    ORDER = "order"
    PAYMENT = "payment"
    REFUND = "refund"
    PRODUCT = "product"
    CUSTOMER = "customer"
    APPROVAL = "approval"
    STOCK_MOVEMENT = "stock_movement"
    STOCK_LEVEL = "stock_level"
    CONFLICT = "conflict"
    STAFF = "staff"
    STORE = "store"
    SHIFT = "shift"
    CASH_MOVEMENT = "cash_movement"
    STOCK_REVIEW = "stock_review"


class Conflicts(StrEnum):
    """How an operation can meet a change made elsewhere in the meantime."""

    NEVER = "never"  # a new fact (a sale, a payment, a movement): applied or rejected
    FIELDS = "fields"  # per-field {base, value} edits: the same field changed is a conflict
    STATE = "state"  # a decision on the whole entity (delete, decide, refund) vs its state


class Scope(StrEnum):
    """Whose change feed the server writes the result to."""

    STORE = "store"  # the pushing till's store
    ORG = "org"  # every store of the organization (the catalog, conflicts)


class Personal(StrEnum):
    """Which personal data a payload can carry (sealed in the till's outbox)."""

    NONE = "none"
    CUSTOMER = "customer"  # under a ``customer`` key, at any depth
    OWN = "own"  # the payload's own name/phone/email (the op is about a customer)


@dataclass(frozen=True)
class Permission:
    """The action an operation needs: ``action``, or any of ``alternatives``; when
    ``by_field`` is set, the payload's value of that field picks the action from
    ``by_value`` (a stock movement's kind, an approval's kind)."""

    action: Action
    alternatives: tuple[Action, ...] = ()
    by_field: str | None = None
    by_value: dict[str, Action] = field(default_factory=dict)

    def actions_for(self, payload: dict[str, Any] | None) -> tuple[Action, ...]:
        """The actions of which the actor needs one, for this payload."""
        if self.by_field is not None and isinstance(payload, dict):
            chosen = self.by_value.get(str(payload.get(self.by_field)))
            if chosen is not None:
                return (chosen,)
        return (self.action, *self.alternatives)


@dataclass(frozen=True)
class Reference:
    """A payload field holding the id of another entity."""

    field: str
    entity: Entity


@dataclass(frozen=True)
class OpSpec:
    type: OpType
    payload: builtins.type[BaseModel]
    entity: Entity
    entity_id_is: str  # what entity_id names, in words (for the docs)
    permission: Permission
    conflicts: Conflicts = Conflicts.NEVER
    scope: Scope = Scope.STORE
    personal: Personal = Personal.NONE
    refers_to: tuple[Reference, ...] = ()
    #: the payload field naming the entity whose version the answer carries, when that
    #: is not ``entity_id`` (a payment or refund versions its order)
    versions: Reference | None = None
    #: deletions, refunds, decisions, conflict resolutions, price changes: the approver
    #: (``approved_by`` when named, else the actor) must prove they agreed to this op
    privileged: bool = False
    #: fields of an ``EntityUpdate`` whose change makes the op privileged
    privileged_fields: frozenset[str] = frozenset()
    #: what the approver (``approved_by`` when named, else the actor) must be allowed,
    #: beyond the actor's own permission (a cashier's refund needs a manager's approval)
    approver_needs: Action | None = None
    #: a payload field that, when set, makes the op privileged (a shift closed with an
    #: over/short beyond the store's threshold names its ``approved_by``)
    privileged_if: str | None = None

    def is_privileged(self, payload: dict[str, Any] | None) -> bool:
        """Whether this op, with this payload, needs the approver's proof."""
        if self.privileged:
            return True
        if self.privileged_if is not None and isinstance(payload, dict) \
                and payload.get(self.privileged_if):
            return True
        fields = payload.get("fields") if isinstance(payload, dict) else None
        return isinstance(fields, dict) and bool(self.privileged_fields & fields.keys())

    def versioned_entity(self, entity_id: str, payload: dict[str, Any] | None) -> tuple[Entity, str]:
        """(entity, id) whose version this op's result carries."""
        if self.versions is not None and isinstance(payload, dict):
            ref = payload.get(self.versions.field)
            if isinstance(ref, str) and ref:
                return self.versions.entity, ref
        return self.entity, entity_id


_ORDER = Reference("order_id", Entity.ORDER)
_STOCK_KIND = {"receive": Action.STOCK_RECEIVE, "adjust": Action.STOCK_ADJUST,
               "count": Action.STOCK_COUNT}
_APPROVAL_KIND = {"delete": Action.ORDER_DELETE_REQUEST, "refund": Action.REFUND_REQUEST}
_CASH_KIND = {"pay_in": Action.CASH_MOVE, "pay_out": Action.CASH_MOVE, "drop": Action.CASH_MOVE,
              "no_sale": Action.DRAWER_NO_SALE}

CATALOGUE: dict[OpType, OpSpec] = {spec.type: spec for spec in (
    OpSpec(OpType.ORDER_CREATE, p.OrderCreate, Entity.ORDER, "the new order's id",
           Permission(Action.SALE_CREATE), personal=Personal.CUSTOMER,
           privileged_if="approved_by",  # beyond the actor's till limits
           refers_to=(Reference("store_id", Entity.STORE),
                      Reference("lines.product_id", Entity.PRODUCT),
                      Reference("approved_by", Entity.STAFF))),
    OpSpec(OpType.ORDER_UPDATE, p.EntityUpdate, Entity.ORDER, "the order's id",
           Permission(Action.ORDER_EDIT), conflicts=Conflicts.FIELDS,
           personal=Personal.CUSTOMER),
    OpSpec(OpType.ORDER_DELETE, p.OrderDelete, Entity.ORDER, "the order's id",
           Permission(Action.ORDER_DELETE), conflicts=Conflicts.STATE, privileged=True,
           refers_to=(Reference("approved_by", Entity.STAFF),
                      Reference("approval_id", Entity.APPROVAL))),
    OpSpec(OpType.PAYMENT_RECORD, p.PaymentData, Entity.ORDER, "the order's id",
           Permission(Action.PAYMENT_RECORD), refers_to=(_ORDER,), versions=_ORDER),
    OpSpec(OpType.REFUND_CREATE, p.RefundCreate, Entity.REFUND, "the refund's id",
           Permission(Action.REFUND_REQUEST), conflicts=Conflicts.STATE, privileged=True,
           approver_needs=Action.REFUND_APPROVE,
           refers_to=(_ORDER, Reference("approved_by", Entity.STAFF),
                      Reference("approval_id", Entity.APPROVAL)),
           versions=_ORDER),
    OpSpec(OpType.APPROVAL_REQUEST, p.ApprovalRequest, Entity.APPROVAL, "the approval's id",
           Permission(Action.ORDER_DELETE_REQUEST, by_field="kind", by_value=_APPROVAL_KIND),
           refers_to=(_ORDER,)),
    OpSpec(OpType.APPROVAL_DECIDE, p.ApprovalDecide, Entity.APPROVAL, "the approval's id",
           Permission(Action.APPROVAL_DECIDE), conflicts=Conflicts.STATE, privileged=True),
    OpSpec(OpType.STOCK_ADJUST, p.StockAdjust, Entity.PRODUCT, "the product's id",
           Permission(Action.STOCK_ADJUST, by_field="kind", by_value=_STOCK_KIND),
           refers_to=(Reference("product_id", Entity.PRODUCT),),
           versions=Reference("movement_id", Entity.STOCK_MOVEMENT)),
    OpSpec(OpType.PRODUCT_CREATE, p.ProductCreate, Entity.PRODUCT, "the new product's id",
           Permission(Action.CATALOG_EDIT, alternatives=(Action.PRODUCT_QUICK_ADD,)),
           scope=Scope.ORG),
    OpSpec(OpType.PRODUCT_UPDATE, p.EntityUpdate, Entity.PRODUCT, "the product's id",
           Permission(Action.CATALOG_EDIT), conflicts=Conflicts.FIELDS, scope=Scope.ORG,
           privileged_fields=frozenset({"price"})),
    OpSpec(OpType.CUSTOMER_UPSERT, p.CustomerUpsert, Entity.CUSTOMER, "the customer's id",
           Permission(Action.SALE_CREATE), personal=Personal.OWN),
    OpSpec(OpType.CONFLICT_RESOLVE, p.ConflictResolve, Entity.CONFLICT, "the conflict's id",
           Permission(Action.CONFLICT_RESOLVE), scope=Scope.ORG, privileged=True,
           refers_to=(Reference("conflict_id", Entity.CONFLICT),)),
    # a shift belongs to its till: no other till changes it, so it never conflicts
    OpSpec(OpType.SHIFT_OPEN, p.ShiftOpen, Entity.SHIFT, "the new shift's id",
           Permission(Action.SHIFT_OPEN)),
    OpSpec(OpType.SHIFT_CLOSE, p.ShiftClose, Entity.SHIFT, "the shift's id",
           Permission(Action.SHIFT_CLOSE), privileged_if="approved_by",
           approver_needs=Action.SHIFT_VARIANCE_APPROVE,
           refers_to=(Reference("approved_by", Entity.STAFF),)),
    OpSpec(OpType.CASH_MOVE, p.CashMove, Entity.CASH_MOVEMENT, "the movement's id",
           Permission(Action.CASH_MOVE, by_field="kind", by_value=_CASH_KIND),
           refers_to=(Reference("shift_id", Entity.SHIFT), Reference("approved_by", Entity.STAFF)),
           versions=Reference("shift_id", Entity.SHIFT), privileged_if="approved_by"),
    # the stock clerk accepts an item of the reconciliation list as it stands: a new fact
    # (two tills accepting one item: the second is applied with a flag, nothing twice)
    OpSpec(OpType.STOCK_ACCEPT, p.StockAccept, Entity.STOCK_REVIEW, "the acceptance's id",
           Permission(Action.STOCK_COUNT),
           refers_to=(Reference("product_id", Entity.PRODUCT),)),
)}


def spec_of(op_type: OpType | str) -> OpSpec | None:
    """The catalogue entry of an operation type; None for a type this code does not know
    (an older till meeting a newer server's type, or a hostile one)."""
    try:
        return CATALOGUE[OpType(op_type)]
    except ValueError:
        return None
