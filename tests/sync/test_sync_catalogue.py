"""The terminal's sync reads the catalogue (issue 13): what it derives from it is what it
spelled out before, type by type (the push's conflicting types and the entity an answer
is recorded on, a conflict's entity and terminal side, the ops that hold nothing back,
the feed entity types applied, run or held)."""

from __future__ import annotations

from app.domain.operations import CATALOGUE, Entity, OpType
from sync import apply, push
from sync.conflicts import entity_of, terminal_side

ORDER, OTHER = "0190f000-0000-7000-8000-000000000001", "0190f000-0000-7000-8000-000000000002"
MOVEMENT = "0190f000-0000-7000-8000-000000000003"


def test_conflicting_ops_are_the_types_that_can_conflict() -> None:
    assert set(push.CONFLICTING_OPS) == {"order.update", "order.delete", "product.update",
                                    "approval.decide", "refund.create"}
    assert "order.update" in push.CONFLICTING_OPS  # the plain text of a pulled row matches


def test_an_answer_is_recorded_on_the_entity_whose_version_it_carries() -> None:
    payloads = {OpType.REFUND_CREATE: {"order_id": ORDER},
                OpType.PAYMENT_RECORD: {"order_id": ORDER},
                OpType.STOCK_ADJUST: {"movement_id": MOVEMENT, "product_id": OTHER},
                OpType.CASH_MOVE: {"shift_id": OTHER}}
    targets = {t.value: push._target(t.value, ORDER if t is OpType.PAYMENT_RECORD else OTHER,
                                     payloads.get(t, {})) for t in OpType}
    assert targets == {
        "order.create": (Entity.ORDER, OTHER), "order.update": (Entity.ORDER, OTHER),
        "order.delete": (Entity.ORDER, OTHER), "payment.record": (Entity.ORDER, ORDER),
        "refund.create": (Entity.ORDER, ORDER), "approval.request": (Entity.APPROVAL, OTHER),
        "approval.decide": (Entity.APPROVAL, OTHER),
        "stock.adjust": (Entity.STOCK_MOVEMENT, MOVEMENT),
        "product.create": (Entity.PRODUCT, OTHER), "product.update": (Entity.PRODUCT, OTHER),
        "customer.upsert": (Entity.CUSTOMER, OTHER),
        "conflict.resolve": (Entity.CONFLICT, OTHER),
        "shift.open": (Entity.SHIFT, OTHER), "shift.close": (Entity.SHIFT, OTHER),
        "cash.move": (Entity.SHIFT, OTHER), "stock.accept": (Entity.STOCK_REVIEW, OTHER)}
    assert push._target("gizmo.make", OTHER, {}) is None  # a type this till does not know
    assert set(push.LOCAL_MODELS) == {Entity.ORDER, Entity.PRODUCT, Entity.CUSTOMER,
                                      Entity.APPROVAL, Entity.SHIFT}


def test_a_conflict_names_the_entity_the_server_names() -> None:
    assert entity_of("order.update", OTHER, {}) == ("order", OTHER)
    assert entity_of("product.update", OTHER, None) == ("product", OTHER)
    assert entity_of("approval.decide", OTHER, {}) == ("approval", OTHER)
    assert entity_of("refund.create", OTHER, {"order_id": ORDER}) == ("order", ORDER)
    assert entity_of("payment.record", ORDER, {"order_id": ORDER}) == ("order", ORDER)
    assert entity_of("unknown", "", None) == ("unknown", "")  # an old record's words
    assert all(isinstance(entity_of(t, OTHER, {})[0], str) for t in OpType)


def test_the_terminal_side_by_the_kind_of_conflict() -> None:
    edit = {"fields": {"note": {"base": "a", "value": "b"}, "price": {"value": 5}}}
    assert terminal_side("order.update", edit) == {"note": "b", "price": 5}
    assert terminal_side("product.update", edit) == {"note": "b", "price": 5}
    assert terminal_side("order.delete", {"reason": "typo"}) == {"status": "deleted",
                                                                  "reason": "typo"}
    assert terminal_side("approval.decide", {"approved": True}) == {"status": "approved"}
    assert terminal_side("approval.decide", {"approved": False}) == {"status": "rejected"}
    assert terminal_side("refund.create", {"order_id": ORDER}) == {}
    assert terminal_side("order.create", edit) == {}  # a new fact has no side
    assert terminal_side("gizmo.edit", edit) == {"note": "b", "price": 5}  # as before


def test_the_apply_keys_by_feed_entity_type() -> None:
    assert apply.NON_BLOCKING_OPS == ("stock.adjust",)
    assert set(apply.APPLIERS) == {"product", "staff", "order", "stock_movement", "conflict",
                                   "store", "approval", "shift", "stock_review"}
    assert set(apply.RUNS) == {"product", "stock_level", "order", "stock_movement"}
    assert apply.INDEPENDENT_ORDER == ("product", "order", "stock_movement")  # one run of each per segment, products first
    assert set(apply.HOLDABLE) == {"product", "order", "staff", "store", "approval", "conflict",
                                   "shift"}
    assert apply.APPLIERS.get("order") is apply.APPLIERS[Entity.ORDER]  # plain text finds it
    assert set(apply.APPLIERS) | set(apply.RUNS) <= {e.value for e in Entity}
    assert {s.entity for s in CATALOGUE.values()} - set(apply.APPLIERS) - set(apply.RUNS) <= {
        Entity.REFUND, Entity.CUSTOMER,  # sent inside their order's state
        Entity.CASH_MOVEMENT}  # counted in its shift's state
