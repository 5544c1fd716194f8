"""The approver's proof (app/domain/approval_proof.py), alone: key, canonical bytes, MAC."""

from __future__ import annotations

import time
from typing import Any

import pytest

from app.domain import approval_proof as ap

CHEAP = ap.KdfCost(memory_kib=1024, time_cost=1)


def _op(**over: Any) -> dict[str, Any]:
    op = {"op_type": "order.delete", "entity_id": "e1", "device_id": "d1", "op_id": "o1",
          "actor_id": "a1", "payload": {"reason": "void", "approved_by": "m1"}}
    return op | over


def test_a_proof_fits_its_operation_only() -> None:
    key = ap.derive_key("246810", ap.new_salt(CHEAP))
    proof = ap.make_proof(key, "m1", ap.canonical_bytes(**_op()))
    assert proof["by"] == "m1" and proof["kind"] == "offline"
    assert ap.check_mac(key, ap.canonical_bytes(**_op()), proof["mac"])
    for other in ({"op_id": "o2"}, {"entity_id": "e2"}, {"device_id": "d2"},
                  {"actor_id": "a2"}, {"op_type": "refund.create"},
                  {"payload": {"reason": "void!", "approved_by": "m1"}}):
        assert not ap.check_mac(key, ap.canonical_bytes(**_op(**other)), proof["mac"]), other


def test_the_key_needs_the_pin_and_the_salt() -> None:
    salt = ap.new_salt(CHEAP)
    key = ap.derive_key("246810", salt)
    assert ap.derive_key("246810", salt) == key and len(key) == 32
    assert ap.derive_key("246811", salt) != key
    assert ap.derive_key("246810", ap.new_salt(CHEAP)) != key  # a salt of its own


def test_canonical_bytes_ignore_key_order_and_survive_a_json_round_trip() -> None:
    import json
    payload = {"b": [1, 2.5, "é"], "a": {"y": None, "x": True}}
    again = json.loads(json.dumps(payload, ensure_ascii=True))
    assert ap.canonical_bytes(**_op(payload=payload)) == ap.canonical_bytes(
        **_op(payload=dict(reversed(list(again.items())))))


def test_which_ops_are_privileged_and_whose_approval_they_carry() -> None:
    assert ap.approver_of("order.delete", {"approved_by": "m"}, "c") == "m"
    assert ap.approver_of("approval.decide", {}, "m") == "m"
    assert ap.approver_of("product.update", {"fields": {"price": {"to": 1}}}, "m") == "m"
    assert ap.approver_of("product.update", {"fields": {"name": {"to": "x"}}}, "m") is None
    # a sale past its actor's till limits carries the manager who allowed it (issue 14)
    assert ap.approver_of("order.create", {"approved_by": "m"}, "c") == "m"
    assert ap.approver_of("order.create", {}, "c") is None


@pytest.mark.parametrize("bad", ["", "argon2id$m=1,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA",
                                 "argon2i$m=1024,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA", "x"])
def test_a_malformed_salt_is_refused(bad: str) -> None:
    with pytest.raises(ap.ApprovalSaltError):
        ap.derive_key("1234", bad)


def test_the_till_cost_is_sensible() -> None:
    """The real cost (19 MiB, 2 passes): measured here ~40-80 ms; a till must stay well
    under half a second for an override (2 shared cores in CI, hence the slack)."""
    salt = ap.new_salt()
    assert salt.startswith("argon2id$m=19456,t=2,p=1$")
    start = time.perf_counter()
    ap.derive_key("24681357", salt)
    elapsed = time.perf_counter() - start
    print(f"approval key derivation: {elapsed * 1000:.0f} ms")
    assert elapsed < 0.5
