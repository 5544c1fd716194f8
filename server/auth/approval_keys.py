"""Each staff member's approval key: ``argon2id(PIN, approval_salt)``, kept sealed.

The server makes it whenever it sees the PIN — a new staff member or a new PIN (REST
and ``tillsync-server create-staff``), and an online sign-in by PIN when none is stored
yet (staff from before migration 0007) — and checks with it the proof a privileged op
carries (server/sync/proofs.py). The salt goes to the tills with the staff row; the key
never leaves the server, sealed with its data key and bound to the staff id.

The cost is the sign-in hash's, capped at the till's (app/domain/approval_proof.py
``TILL_COST``): tills derive the same key when the PIN is typed.
"""

from __future__ import annotations

import base64

from argon2 import PasswordHasher
from sqlalchemy.orm import Session

from app.domain import approval_proof as ap
from server.crypto import cipher_of
from server.db.models import Staff


def _field(staff_id: str) -> str:
    return f"staff.approval_key/{staff_id}"


def cost_for(hasher: PasswordHasher) -> ap.KdfCost:
    """The approval key's cost: the sign-in hash's, at most the till's."""
    return ap.KdfCost(memory_kib=min(hasher.memory_cost, ap.TILL_COST.memory_kib),
                      time_cost=min(hasher.time_cost, ap.TILL_COST.time_cost),
                      parallelism=1)


def set_key(session: Session, hasher: PasswordHasher, staff: Staff, pin: str) -> None:
    """A new salt and the key of ``pin`` under it (a new PIN makes old proofs unfit)."""
    cipher = cipher_of(session)
    if cipher is None:  # (every server engine has one: crypto.setup)
        raise RuntimeError("the server's data key is not set up")
    salt = ap.new_salt(cost_for(hasher))
    key = ap.derive_key(pin, salt)
    staff.approval_salt = salt
    staff.approval_key = cipher.seal(_field(staff.id), base64.b64encode(key).decode())


def key_of(session: Session, staff: Staff) -> bytes | None:
    """The staff member's approval key, or None when the server has none yet."""
    if not staff.approval_key:
        return None
    cipher = cipher_of(session)
    if cipher is None:
        return None
    return base64.b64decode(cipher.open(_field(staff.id), staff.approval_key))
