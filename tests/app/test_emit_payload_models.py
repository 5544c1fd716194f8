"""Mutation.emit takes the catalogue's model for the operation type, nothing else (issue 13):
a dict, another type's model or a type spelled as a string is a programming error that
writes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from app.domain.ids import new_id
from app.domain.operations import OpType
from app.domain.payloads import EntityUpdate, OrderDelete
from app.store.local import LocalStore
from app.store.models import AuditEntry, OutboxOperation
from app.store.unit_of_work import Actor, WrongPayload, mutation, wire_payload


def _emit(store: LocalStore, actor: Actor, op_type: Any, payload: Any) -> None:
    with mutation(store.db, store.device_id, actor, "test.emit") as m:
        m.audit("order", "x", {})
        m.emit(op_type, new_id(), payload)


def _written(store: LocalStore) -> tuple[int, int]:
    with store.db.read() as s:
        return (s.scalar(select(func.count()).select_from(OutboxOperation)) or 0,
                s.scalar(select(func.count()).select_from(AuditEntry)) or 0)


@pytest.mark.parametrize(("op_type", "payload", "words"), [
    (OpType.ORDER_DELETE, {"reason": "walked out"}, "takes a OrderDelete payload, not dict"),
    (OpType.ORDER_DELETE, EntityUpdate(fields={}), "takes a OrderDelete payload, not EntityUpdate"),
    ("order.delete", OrderDelete(reason="walked out"), "is not an operation type"),
])
def test_emit_refuses_a_payload_that_is_not_the_types_model(store: LocalStore, actors: dict,
                                                              op_type: Any, payload: Any,
                                                              words: str) -> None:
    before = _written(store)
    with pytest.raises(WrongPayload, match=words):
        _emit(store, next(iter(actors.values())), op_type, payload)
    assert _written(store) == before


def test_the_model_is_written_in_its_wire_form(store: LocalStore, actors: dict) -> None:
    owner = next(iter(actors.values()))
    _emit(store, owner, OpType.ORDER_DELETE, OrderDelete(reason="walked out"))
    with store.db.read() as s:
        op = s.scalars(select(OutboxOperation)).one()
    assert op.type == "order.delete"
    assert op.payload == wire_payload(OpType.ORDER_DELETE, OrderDelete(reason="walked out")) == {
        "reason": "walked out", "approved_by": None, "approval_id": None, "requested_by": None}
