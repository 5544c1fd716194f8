"""This till's role ceiling: the most senior role that may sign in on it.

The server enrolls every till with a ceiling (app/domain/role_ceiling.py) and refuses
pushed operations above it; the till refuses the sign-in up front, in words, rather
than letting someone work and have their sales quarantined. The ceiling comes with the
enrollment answer and with every pull answer (``max_role``: an admin may change it
without enrolling again) and is kept in the SyncState table under ``role_ceiling``.

A till that has none (never enrolled: the standalone demo; or enrolled before servers
sent it, until its next pull) takes everyone: owner. The server still holds it to its
real ceiling, so nothing above it is accepted from such a till meanwhile.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from app.domain.permissions import Role
from app.domain.role_ceiling import ceiling_refusal, within_ceiling
from app.store.local import LocalStore
from app.store.models import Staff, SyncState

CEILING_KEY = "role_ceiling"
NO_CEILING = Role.OWNER


def read_ceiling(s: Session) -> Role:
    """The ceiling kept in this store (owner when none was ever given)."""
    row = s.get(SyncState, CEILING_KEY)
    try:
        return Role(row.value) if row is not None and row.value else NO_CEILING
    except ValueError:  # a role this version does not know: the safest known one
        return Role.CASHIER


def till_ceiling(store: LocalStore) -> Role:
    with store.db.read() as s:
        return read_ceiling(s)


def refusal(name: str, role: Role | str, ceiling: Role) -> str | None:
    """Why ``name`` may not sign in on a till of ``ceiling`` (None: they may)."""
    if within_ceiling(role, ceiling):
        return None
    return ceiling_refusal(name, role, ceiling) + " (ask an admin, or use the back-office till)"


def store_ceiling(s: Session, role: Role | str) -> bool:
    """Keep ``role`` as this till's ceiling, in the caller's transaction. Staff above it
    lose their PIN hash here too (the server stops sending them). True when the ceiling
    went up from one given before: hashes blanked then must be fetched again (a snapshot)."""
    new = Role(role)
    old = read_ceiling(s)
    row = s.get(SyncState, CEILING_KEY)
    if row is not None and new == old:
        return False
    if row is None:
        s.add(SyncState(key=CEILING_KEY, value=new.value))
    else:
        row.value = new.value
    above = [r.value for r in Role if not within_ceiling(r, new)]
    if above:
        s.execute(update(Staff).where(Staff.role.in_(above)).values(pin_hash=""))
    return row is not None and any(within_ceiling(r, new) and not within_ceiling(r, old)
                                   for r in Role)
