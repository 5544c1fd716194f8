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

A server-issued proof (``kind: online``, :func:`issue_online`, ``POST
/sync/approval-proofs``) is checked first, with a secret derived from the data key and
the approver's ``token_epoch``; it needs no approval key.
"""

from __future__ import annotations

from enum import Enum

from sqlalchemy.orm import Session

from app.domain import approval_proof as ap
from app.domain.operations import spec_of
from app.domain.permissions import allowed
from app.domain.role_ceiling import ceiling_refusal, within_ceiling
from server.auth.approval_keys import key_of
from server.context import TerminalPrincipal
from server.crypto import cipher_of
from server.db.models import Staff, Terminal
from server.errors import ApiError
from server.sync.common import Rejected
from sync.protocol import ApprovalProofRequest, Operation


class Proof(Enum):
    """What the server made of an op's approval."""

    NOT_NEEDED = "not needed"  # an ordinary op, or a change made with a staff sign-in
    VALID = "valid"
    NO_KEY = "no key"  # the server cannot check: flagged unverified_approval
    BAD = "bad"  # missing or wrong, let through under the flag policy: flagged


def _bytes_of(op: Operation | ApprovalProofRequest, kind: str = ap.KIND_OFFLINE) -> bytes | None:
    op_type = op.type.value if isinstance(op, Operation) else op.type
    try:
        return ap.canonical_bytes(op_type=op_type, entity_id=op.entity_id,
                                  device_id=op.device_id, op_id=op.op_id,
                                  actor_id=op.actor_id, payload=op.payload, kind=kind)
    except (TypeError, ValueError):  # NaN or the like: no proof can fit it
        return None


def _online_secret(session: Session, staff: Staff) -> bytes:
    cipher = cipher_of(session)
    if cipher is None:  # (every server engine has one: crypto.setup)
        raise RuntimeError("the server's data key is not set up")
    return cipher.online_approval_secret(staff.id, staff.token_epoch)


def _online_fits(session: Session, op: Operation, approver: Staff) -> bool:
    proof = op.approval_proof
    message = _bytes_of(op, ap.KIND_ONLINE)
    return (proof is not None and proof.by == approver.id and message is not None
            and ap.check_mac(_online_secret(session, approver), message, proof.mac))


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
    if op.approval_proof is not None and op.approval_proof.kind == ap.KIND_ONLINE \
            and _online_fits(session, op, approver):
        return Proof.VALID
    key = key_of(session, approver)
    if key is None:
        return Proof.NO_KEY
    why = problem(op, approver, key)
    if why is None:
        return Proof.VALID
    if policy == "flag":
        return Proof.BAD
    raise Rejected(why)


def issue_online(session: Session, staff: Staff, req: ApprovalProofRequest) -> dict[str, str]:
    """A server-issued proof of ``req`` for ``staff``, signed in with their own PIN or
    password: they must be its approver, allowed to approve it, and within the ceiling
    of the till that will push it. ApiError in words otherwise."""
    terminal = session.get(Terminal, req.device_id)
    if terminal is None or terminal.org_id != staff.org_id or terminal.revoked:
        raise ApiError(404, "not_found", "No enrolled till of this organization has that device_id")
    if not within_ceiling(staff.role, terminal.max_role):
        raise ApiError(403, "permission_denied", ceiling_refusal(staff.name, staff.role,
                                                                 terminal.max_role))
    spec = spec_of(req.type)
    if spec is None or not spec.is_privileged(req.payload):
        raise ApiError(422, "not_privileged", f"{req.type} needs no approver's proof")
    approver = ap.approver_of(req.type, req.payload, req.actor_id)
    if approver != staff.id:
        raise ApiError(403, "permission_denied",
                       "This operation is approved by someone else; they must ask for its proof")
    needs = spec.approver_needs or spec.permission.actions_for(req.payload)[0]
    if not allowed(staff.role, needs):
        raise ApiError(403, "permission_denied",
                       f"{staff.name} ({staff.role}) may not approve {req.type}")
    message = _bytes_of(req, ap.KIND_ONLINE)
    if message is None:
        raise ApiError(422, "invalid_value", "The payload holds a number JSON cannot carry")
    return ap.make_proof(_online_secret(session, staff), staff.id, message, ap.KIND_ONLINE)
