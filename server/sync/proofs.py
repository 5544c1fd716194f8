"""The approver's proof on a privileged op, checked as it is pushed (docs/security.md).

A privileged op (app/domain/approval_proof.py ``is_privileged``) carries
``approval_proof = {"kind": "offline", "by": approver, "mac": ...}``, the MAC of the
op's canonical bytes under the approver's key ``argon2id(PIN, approval_salt)``. The
server holds that key (server/auth/approval_keys.py) once it has seen the PIN:

* a valid proof: the op goes on (the sighting flag still applies, see sightings.py);
* a missing or wrong proof from an approver with a key: rejected in words under the
  ``require`` policy (the default), applied and flagged ``unverified_approval`` under
  ``flag`` (a rollout while tills are upgraded);
* no key yet for the approver (their PIN not seen since the upgrade): applied and
  flagged ``unverified_approval``, as before proofs existed.
"""

from __future__ import annotations

from enum import Enum

from sqlalchemy.orm import Session

from app.domain import approval_proof as ap
from server.auth.approval_keys import key_of
from server.context import TerminalPrincipal
from server.db.models import Staff
from server.sync.common import Rejected
from sync.protocol import Operation


class Proof(Enum):
    """What the server made of an op's approval."""

    NOT_NEEDED = "not needed"  # an ordinary op, or a change made with a staff sign-in
    VALID = "valid"
    NO_KEY = "no key"  # the server cannot check: flagged unverified_approval
    BAD = "bad"  # missing or wrong, let through under the flag policy: flagged


def _bytes_of(op: Operation) -> bytes | None:
    try:
        return ap.canonical_bytes(op_type=op.type.value, entity_id=op.entity_id,
                                  device_id=op.device_id, op_id=op.op_id,
                                  actor_id=op.actor_id, payload=op.payload)
    except (TypeError, ValueError):  # NaN or the like: no proof can fit it
        return None


def problem(op: Operation, approver: Staff, key: bytes) -> str | None:
    """Why the op's proof does not hold, in words; None when it does."""
    proof = op.approval_proof
    name = approver.name
    if proof is None:
        return (f"{name}'s approval has no proof: {name} must type their PIN on the till "
                f"for this (a till too old to ask for it needs an update)")
    if proof.by != approver.id:
        return f"the approval proof is not {name}'s, who approves this operation"
    message = _bytes_of(op)
    if proof.kind != ap.KIND_OFFLINE or message is None or not ap.check_mac(key, message, proof.mac):
        return (f"{name}'s approval proof does not fit this operation or their current PIN "
                f"(a PIN changed since, or an altered operation); have {name} approve it again")
    return None


def check(session: Session, terminal: TerminalPrincipal, op: Operation, policy: str) -> Proof:
    """Check the proof of a till's privileged op; raise Rejected under ``require``."""
    if terminal.terminal_id is None:
        return Proof.NOT_NEEDED
    approver_id = ap.approver_of(op.type.value, op.payload, op.actor_id)
    if approver_id is None:
        return Proof.NOT_NEEDED
    approver = session.get(Staff, approver_id)
    if approver is None or approver.org_id != terminal.org_id:
        if policy == "flag":
            return Proof.BAD
        raise Rejected(f"the approver {approver_id} is not a staff member of this organization")
    key = key_of(session, approver)
    if key is None:
        return Proof.NO_KEY
    why = problem(op, approver, key)
    if why is None:
        return Proof.VALID
    if policy == "flag":
        return Proof.BAD
    raise Rejected(why)
