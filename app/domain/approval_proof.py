"""The approver's proof bound to one operation (docs/security.md, "Approver proof").

A privileged operation (a deletion, a refund, an approval decision, a conflict
resolution, a price change) carries a MAC made with a key only the approver's PIN
gives: ``key = argon2id(PIN, approval_salt)``, a salt of its own per staff member
(distinct from the sign-in hash's), and ``mac = HMAC-SHA256(key, DOMAIN ‖ canonical
bytes of the op)``. The server derives the same key whenever it sees the PIN and checks
the MAC; the till derives it when the person types their PIN and never stores it.

The canonical bytes cover the op's type, entity, device, op id, actor and its payload,
as sorted-key compact JSON: the values the server holds after parsing the push, so
both sides hash the same bytes (a payload sealed in the outbox is opened before the
push, and the proof is made over the plain payload).

Pure: no I/O; argon2 is the only slow part (see :data:`TILL_COST`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
from dataclasses import dataclass
from typing import Any

from argon2.low_level import Type, hash_secret_raw

from app.domain.operations import spec_of

DOMAIN = b"tillsync-approval-v1\n"
#: the domain of a server-issued proof (``kind: online``): never confused with a till's
ONLINE_DOMAIN = b"tillsync-approval-online-v1\n"
KIND_OFFLINE = "offline"
KIND_ONLINE = "online"
KEY_BYTES = 32
SALT_BYTES = 16
_SALT_FORMAT = re.compile(r"^argon2id\$m=(\d{1,7}),t=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9_-]{16,64})$")


class ApprovalSaltError(ValueError):
    """An ``approval_salt`` that is not of the form this module writes."""


@dataclass(frozen=True)
class KdfCost:
    """argon2id's cost: memory in KiB, passes, lanes."""

    memory_kib: int
    time_cost: int
    parallelism: int = 1


#: The cost of an approval key: about 40 ms on a till's CPU (OWASP's argon2id minimum,
#: the same as the till's sign-in hash), so a PIN typed in an override is not held up.
TILL_COST = KdfCost(memory_kib=19_456, time_cost=2, parallelism=1)


def new_salt(cost: KdfCost = TILL_COST) -> str:
    """A fresh ``approval_salt``: the cost and 16 random bytes, so a till derives the key
    with the parameters the server used (``argon2id$m=19456,t=2,p=1$<base64url>``)."""
    raw = base64.urlsafe_b64encode(os.urandom(SALT_BYTES)).rstrip(b"=").decode()
    return f"argon2id$m={cost.memory_kib},t={cost.time_cost},p={cost.parallelism}${raw}"


def parse_salt(salt: str) -> tuple[KdfCost, bytes]:
    """The cost and salt bytes of an ``approval_salt``; ApprovalSaltError when malformed."""
    match = _SALT_FORMAT.match(salt or "")
    if match is None:
        raise ApprovalSaltError("not an approval salt")
    m, t, p, raw = match.groups()
    cost = KdfCost(int(m), int(t), int(p))
    if not (8 * cost.parallelism <= cost.memory_kib <= 1_048_576 and cost.time_cost >= 1
            and cost.parallelism >= 1):
        raise ApprovalSaltError("approval salt cost out of range")
    return cost, base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))


def derive_key(pin: str, salt: str) -> bytes:
    """The approval key of ``pin`` under ``salt`` (argon2id, 32 bytes)."""
    cost, raw = parse_salt(salt)
    return hash_secret_raw(pin.encode(), raw, time_cost=cost.time_cost,
                           memory_cost=cost.memory_kib, parallelism=cost.parallelism,
                           hash_len=KEY_BYTES, type=Type.ID)


def is_privileged(op_type: str, payload: dict[str, Any]) -> bool:
    """Whether an op needs its approver's proof: a deletion, a refund, an approval
    decision, a conflict resolution, or a product update that changes the price (the
    catalogue says which: app/domain/operations.py ``privileged``)."""
    spec = spec_of(op_type)
    return spec is not None and spec.is_privileged(payload)


def approver_of(op_type: str, payload: dict[str, Any], actor_id: str) -> str | None:
    """Whose approval a privileged op carries (``approved_by`` when the payload names
    one, else the actor); None for an ordinary op."""
    if not is_privileged(op_type, payload):
        return None
    named = payload.get("approved_by")
    return named if isinstance(named, str) and named else actor_id


def canonical_bytes(*, op_type: str, entity_id: str, device_id: str, op_id: str,
                    actor_id: str, payload: dict[str, Any], kind: str = KIND_OFFLINE) -> bytes:
    """The bytes a proof covers: the op's identity and its payload, sorted-key compact
    JSON (ASCII: anything else as ``\\uXXXX``, as Python's ``json.dumps`` writes it),
    prefixed with the domain of the proof's ``kind``."""
    body = {"type": op_type, "entity_id": entity_id, "device_id": device_id,
            "op_id": op_id, "actor_id": actor_id, "payload": payload}
    domain = ONLINE_DOMAIN if kind == KIND_ONLINE else DOMAIN
    return domain + json.dumps(body, sort_keys=True, separators=(",", ":"),
                               ensure_ascii=True, allow_nan=False).encode()


def mac(key: bytes, message: bytes) -> str:
    """HMAC-SHA256 of ``message``, hex."""
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def make_proof(key: bytes, approver_id: str, message: bytes,
               kind: str = KIND_OFFLINE) -> dict[str, str]:
    """The ``approval_proof`` of an op: who approves, how, and the MAC."""
    return {"kind": kind, "by": approver_id, "mac": mac(key, message)}


def check_mac(key: bytes, message: bytes, given: str) -> bool:
    """Whether ``given`` is the MAC of ``message`` under ``key`` (constant time)."""
    return hmac.compare_digest(mac(key, message).encode(), str(given).encode())
