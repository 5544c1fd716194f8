"""Staff sign-in with a PIN, checked locally so a till signs people in offline.

PINs are argon2-hashed. Five wrong PINs lock the person out for five minutes;
the lock lives in the database so restarting the app does not lift it.
"""

from __future__ import annotations

from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from app.domain import approval_proof
from app.domain.ids import new_id
from app.domain.permissions import Role
from app.domain.pin_rules import check_pin
from app.services import till_ceiling
from app.store.base import utcnow
from app.store.local import LocalStore
from app.store.models import Staff
from app.store.unit_of_work import Actor

MAX_FAILED_PINS = 5
LOCKOUT = timedelta(minutes=5)
# PINs are short; the hash parameters keep a sign-in under ~50 ms on a till.
_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)


class SignInError(Exception):
    """A sign-in that failed; the message is shown to the person as is."""


def hash_pin(pin: str, role: Role | str | None = None) -> str:
    """The argon2 hash of a PIN that keeps app/domain/pin_rules.py (for ``role``, when
    given: an approver's PIN is at least 6 digits); PinRuleError, a ValueError, if not."""
    check_pin(role if role is not None else Role.CASHIER, pin)
    return _hasher.hash(pin)


def _approval_key(pin: str, salt: str | None) -> bytes | None:
    """The approval key of the typed PIN (app/domain/approval_proof.py), kept on the Actor
    in memory only; None before the server has sent this person's salt."""
    if not salt:
        return None
    try:
        return approval_proof.derive_key(pin, salt)
    except approval_proof.ApprovalSaltError:
        return None


def _aware(dt):  # SQLite hands back naive datetimes; they are stored in UTC
    return dt if dt is None or dt.tzinfo else dt.replace(tzinfo=utcnow().tzinfo)


def sign_in(store: LocalStore, staff_code: str, pin: str) -> Actor:
    """The Actor for a staff code and PIN, or SignInError saying why not.

    A wrong PIN is counted in the database and committed before the error is
    raised, so the count and the lock survive the failure and a restart.
    """
    now = utcnow()
    failure: str | None = None
    with store.db.write() as s:
        person = s.scalars(select(Staff).where(Staff.code == staff_code)).first()
        if person is None or not person.active:
            raise SignInError("Unknown staff code")
        locked_until = _aware(person.locked_until)
        if locked_until and locked_until > now:
            minutes = max(1, int((locked_until - now).total_seconds() // 60) + 1)
            minutes = min(minutes, int(LOCKOUT.total_seconds() // 60))
            raise SignInError(f"Too many wrong PINs. Try again in {minutes} min or ask a manager.")
        above = till_ceiling.refusal(person.name, person.role, till_ceiling.read_ceiling(s))
        if above is not None:  # before the PIN: this till holds no hash of theirs
            raise SignInError(above)
        try:
            _hasher.verify(person.pin_hash, pin)
        except (VerificationError, InvalidHashError):
            person.failed_pins += 1
            if person.failed_pins >= MAX_FAILED_PINS:
                person.locked_until = now + LOCKOUT
                person.failed_pins = 0
                failure = "Too many wrong PINs. Locked for 5 minutes."
            else:
                failure = f"Wrong PIN ({MAX_FAILED_PINS - person.failed_pins} tries left)"
        else:
            person.failed_pins = 0
            person.locked_until = None
            actor = Actor(person.id, person.name, Role(person.role),
                          approval_key=_approval_key(pin, person.approval_salt))
    # Leaving the block committed the count; only now report the failure.
    if failure is not None:
        raise SignInError(failure)
    return actor


def verify_override(store: LocalStore, staff_code: str, pin: str, action: str) -> Actor:
    """A manager's PIN override at the till: the approver must be allowed ``action``."""
    from app.domain.permissions import allowed

    approver = sign_in(store, staff_code, pin)
    if not allowed(approver.role, action):
        raise SignInError(f"{approver.name} ({approver.role.value}) cannot approve this")
    return approver


def list_staff(store: LocalStore) -> list[Staff]:
    with store.db.read() as s:
        people = list(s.scalars(select(Staff).where(Staff.active).order_by(Staff.name)))
        s.expunge_all()
        return people


def add_staff_row(store: LocalStore, name: str, code: str, role: Role, pin: str, staff_id: str | None = None) -> str:
    """Seed a staff row (demo/set-up; staff normally arrive from the server by sync)."""
    with store.db.write() as s:
        person = Staff(id=staff_id or new_id(), name=name, code=code, role=role.value, pin_hash=hash_pin(pin, role))
        s.add(person)
        return person.id
