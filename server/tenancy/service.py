"""Tenancy rules: orgs own stores, stores own terminals, staff belong to an org.

Functions take an open Session so the CLI, the API and tests share them; the caller
owns the transaction.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain import till_limits
from app.domain.ids import ALPHABET, TERMINAL_DEVICE_CODES, device_code, new_id
from app.domain.permissions import Role
from app.domain.pin_rules import PinRuleError, check_pin, min_pin_length
from app.domain.role_ceiling import DEFAULT_CEILING, within_ceiling
from server.auth import approval_keys
from server.auth.sessions import end_sessions
from server.db.base import utcnow
from server.db.models import EnrollmentCode, Order, Organization, Staff, Store, Terminal
from server.deps_tokens import TERMINAL_TOKEN_PREFIX
from server.errors import ApiError, not_found
from server.feed.serialize import staff_state, store_state
from server.feed.writer import FeedWriter
from server.security import random_token, sha256_hex
from server.tenancy import repository as repo
from server.tenancy.schemas import EnrollResponse, StaffPatch, StoreOut, StorePatch

CODE_LENGTH = 10


def create_org(session: Session, name: str) -> Organization:
    org = Organization(id=new_id(), name=name)
    session.add(org)
    session.flush()
    return org


def create_store(
    session: Session, org_id: str, name: str, currency: str = "EUR", tax_inclusive: bool = True,
    **settings: str,
) -> Store:
    """A new store of ``org_id`` (settings: address, tax_id, locale, receipt_footer)."""
    if session.get(Organization, org_id) is None:
        raise not_found("Organization")
    store = Store(
        id=new_id(), org_id=org_id, name=name, currency=currency.upper(),
        tax_inclusive=tax_inclusive, **{k: v for k, v in settings.items() if v is not None},
    )
    session.add(store)
    session.flush()
    _publish_store(session, store)
    return store


def _publish_store(session: Session, store: Store) -> None:
    FeedWriter.for_store(session, store.id).append("store", store.id, store.version,
                                                   store_state(store))


def update_store(session: Session, org_id: str, store_id: str, patch: StorePatch) -> Store:
    """Change store settings; terminals of the store receive them through the feed."""
    store = session.scalars(select(Store).where(Store.id == store_id).with_for_update()).first()
    if store is None or store.org_id != org_id:
        raise not_found("Store")
    changed = False
    for name, value in patch.model_dump(exclude_unset=True).items():
        if value is None:
            continue
        if name == "currency" and value != store.currency:
            _refuse_currency_change(session, store, value)
        if name == "till_limits":  # kept whole and valid: app/domain/till_limits.py
            value = till_limits.to_dict(till_limits.from_dict(value))
        if getattr(store, name) != value:
            setattr(store, name, value)
            changed = True
    if changed:
        store.version += 1
        session.flush()
        _publish_store(session, store)
    return store


def _refuse_currency_change(session: Session, store: Store, currency: str) -> None:
    """A store that has sold keeps its currency: its tills' sales recorded offline in the
    old one would all be refused (a sale's currency must be its store's), and its
    figures would add two currencies. A store not yet trading may still change it."""
    sold = session.scalar(select(Order.id).where(Order.store_id == store.id).limit(1))
    if sold is not None:
        raise ApiError(409, "currency_in_use",
                       f"{store.name} has sales in {store.currency}: its currency cannot "
                       f"become {currency}. Open a new store for {currency}",
                       {"currency": store.currency})


def store_out(store: Store) -> StoreOut:
    return StoreOut.model_validate(store_state(store))


def _publish_staff(session: Session, staff: Staff) -> None:
    FeedWriter.for_org(session, staff.org_id).append(
        "staff", staff.id, staff.version, staff_state(staff)
    )


def create_staff(
    session: Session,
    hasher: PasswordHasher,
    org_id: str,
    name: str,
    role: Role | str,
    *,
    pin: str | None = None,
    password: str | None = None,
    staff_id: str | None = None,
    code: str | None = None,
) -> Staff:
    """Add a staff member; the change goes to every store feed of the org.

    ``code`` is the short staff number typed at the till (unique in the org); when
    none is given the next free number from 1001 is used.
    """
    if pin:
        check_pin_for(role, pin)
    if code is None:
        code = next_staff_code(session, org_id)
    else:
        _check_code_free(session, org_id, code)
    staff = Staff(
        id=staff_id or new_id(), org_id=org_id, name=name, code=code, role=Role(role).value,
        pin_hash=hasher.hash(pin) if pin else None,
        password_hash=hasher.hash(password) if password else None,
    )
    if pin:
        approval_keys.set_key(session, hasher, staff, pin)
    session.add(staff)
    session.flush()
    _publish_staff(session, staff)
    return staff


def check_pin_for(role: Role | str, pin: str) -> None:
    """422 in words for a PIN the role may not have (app/domain/pin_rules.py: a manager's,
    admin's or owner's at least 6 digits, anyone's 4 to 12)."""
    try:
        check_pin(role, pin)
    except PinRuleError as exc:
        raise ApiError(422, "pin_rule", str(exc)) from exc


def check_role_change_pin(staff: Staff, role: Role, pin: str | None) -> None:
    """A role raise that makes someone's PIN an approver's needs a new PIN of an approver's
    length with it: the server keeps only the hash, so it cannot tell whether the PIN
    set for a cashier is long enough for a manager (docs/security.md, PIN length)."""
    if pin is not None or not staff.pin_hash:
        return
    if min_pin_length(role) > min_pin_length(staff.role):
        raise ApiError(
            422, "pin_rule",
            f"{staff.name}'s PIN was set for a {staff.role}; a {role.value}'s PIN is at least "
            f"{min_pin_length(role)} digits (it approves deletions and refunds): send a new "
            "PIN with the role change")


def next_staff_code(session: Session, org_id: str) -> str:
    codes = session.scalars(select(Staff.code).where(Staff.org_id == org_id)).all()
    numbers = [int(c) for c in codes if c and c.isdigit()]
    return str(max([1000, *numbers]) + 1)


def _check_code_free(session: Session, org_id: str, code: str, staff_id: str | None = None) -> None:
    other = session.scalars(
        select(Staff.id).where(Staff.org_id == org_id, Staff.code == code)).first()
    if other is not None and other != staff_id:
        raise ApiError(409, "code_taken", f"Staff code {code} is already used in this organization")


def update_staff(
    session: Session, hasher: PasswordHasher, org_id: str, staff_id: str, patch: StaffPatch,
    *, by_role: str,
) -> Staff:
    staff = session.get(Staff, staff_id)
    if staff is None or staff.org_id != org_id:
        raise not_found("Staff member")
    privileged = {Role.OWNER.value, Role.ADMIN.value}
    if by_role != Role.OWNER.value and (
        staff.role in privileged or (patch.role is not None and patch.role.value in privileged)
    ):
        raise ApiError(403, "permission_denied", "Only an owner may change owners and admins")
    new_role = patch.role or Role(staff.role)
    if patch.pin is not None:
        check_pin_for(new_role, patch.pin)
    check_role_change_pin(staff, new_role, patch.pin)
    if patch.name is not None:
        staff.name = patch.name
    if patch.code is not None and patch.code != staff.code:
        _check_code_free(session, org_id, patch.code, staff.id)
        staff.code = patch.code
    if patch.role is not None:
        staff.role = patch.role.value
    if patch.active is not None:
        staff.active = patch.active
    if patch.pin is not None:
        staff.pin_hash = hasher.hash(patch.pin)
        approval_keys.set_key(session, hasher, staff, patch.pin)
    if patch.password is not None:
        staff.password_hash = hasher.hash(patch.password)
    staff.version += 1
    staff.updated_at = utcnow()
    if patch.pin is not None or patch.password is not None or patch.active is False:
        end_sessions(session, staff,  # a new secret or a departure ends every sign-in
                     new_secret=patch.pin is not None or patch.password is not None)
    elif patch.role is not None:
        staff.token_epoch += 1  # current access tokens carry the old role: end them
    session.flush()
    _publish_staff(session, staff)
    return staff


def normalize_code(code: str) -> str:
    return code.strip().upper().replace("-", "").replace(" ", "")


def create_enrollment_code(
    session: Session, org_id: str, store_id: str, ttl_s: int, created_by: str | None = None,
    *, max_role: Role | str = DEFAULT_CEILING, by_role: Role | str | None = None,
) -> tuple[str, EnrollmentCode]:
    """A one-time code (``XXXXX-XXXXX``) that enrolls one terminal into ``store_id``.

    ``max_role`` is the terminal's role ceiling: the most senior role that may work on
    it (default manager; the back-office PC: owner). ``by_role``, the role of the staff
    member asking (None from the CLI), may not hand out a ceiling above itself."""
    store = session.get(Store, store_id)
    if store is None or store.org_id != org_id:
        raise not_found("Store")
    ceiling = Role(max_role)
    if by_role is not None and not within_ceiling(ceiling, by_role):
        raise ApiError(403, "permission_denied",
                       f"A {Role(by_role).value} may not enroll a till that takes up to "
                       f"{ceiling.value}")
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    row = EnrollmentCode(
        id=new_id(), org_id=org_id, store_id=store_id, code_hash=sha256_hex(raw),
        created_by=created_by, expires_at=utcnow() + timedelta(seconds=ttl_s),
        max_role=ceiling.value,
    )
    session.add(row)
    session.flush()
    return f"{raw[:5]}-{raw[5:]}", row


def enroll(session: Session, code: str, name: str) -> EnrollResponse:
    """Use a one-time code: create the terminal, its device code and its secret token."""
    row = repo.code_by_hash(session, sha256_hex(normalize_code(code)))
    now = utcnow()
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise ApiError(400, "invalid_enrollment_code", "The enrollment code is wrong, used or expired")
    org = repo.org_for_update(session, row.org_id)
    store = session.get(Store, row.store_id)
    if org is None or store is None:
        raise ApiError(400, "invalid_enrollment_code", "The store of this code no longer exists")
    index = org.next_device_index
    if index >= TERMINAL_DEVICE_CODES:  # the last code (ZZ) is the server's own
        raise ApiError(409, "no_device_code",
                       f"This organization has enrolled all {TERMINAL_DEVICE_CODES} terminals "
                       "it can; retire one before enrolling another")
    org.next_device_index = index + 1
    token = TERMINAL_TOKEN_PREFIX + random_token()
    terminal = Terminal(
        id=new_id(), org_id=org.id, store_id=store.id, name=name,
        device_code=device_code(index), token_hash=sha256_hex(token), max_role=row.max_role,
    )
    session.add(terminal)
    row.used_at = now
    row.terminal_id = terminal.id
    session.flush()
    return EnrollResponse(
        device_id=terminal.id, device_code=terminal.device_code, store_id=store.id,
        org_id=org.id, terminal_token=token, store=store_out(store), max_role=Role(row.max_role),
    )
