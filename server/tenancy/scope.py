"""The stores a signed-in person may see to: one rule for the back office (orders,
approvals, conflicts), the analytics, the attention list and the quarantine.

An owner or admin (those allowed ``settings.edit``) reaches every store of the
organization; anyone else only the stores whose tills they were seen working on (an
ordinary op pushed in their name, or a sign-in that carried the till's token:
server/sync/sightings.py). A manager of one store is not the manager of the others.

Two answers outside the scope, one rule everywhere:

- a request that names the store itself (``store_id`` in the query or the body):
  ``403 store_scope`` (``details.store_id``): the person asked for it knowingly, and the
  organization's stores are no secret to its staff (``GET /stores``);
- a record looked up by its own id (an order, an approval, a conflict, a quarantined op)
  of a store out of scope: ``404 not_found``, as another organization's record: its
  existence is not told.

Lists show only the records of the stores in scope.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.permissions import Action, allowed
from server.context import StaffPrincipal
from server.db.tenancy import Store, Terminal, TerminalStaff
from server.errors import ApiError, not_found

#: the action whose holders reach every store of the organization
EVERY_STORE = Action.SETTINGS_EDIT


def sees_every_store(staff: StaffPrincipal) -> bool:
    return allowed(staff.role, EVERY_STORE)


def stores_worked_at(session: Session, staff_id: str) -> set[str]:
    """Stores whose tills this person was seen working on (ops pushed, sign-ins)."""
    return set(session.scalars(
        select(Terminal.store_id).join(TerminalStaff, TerminalStaff.terminal_id == Terminal.id)
        .where(TerminalStaff.staff_id == staff_id)))


def stores_in_scope(session: Session, staff: StaffPrincipal) -> set[str] | None:
    """The stores ``staff`` may see to; None: every store of the organization (no
    statement run for an owner or admin). Callers still keep to the organization."""
    if sees_every_store(staff):
        return None
    return stores_worked_at(session, staff.staff_id)


def in_scope(session: Session, staff: StaffPrincipal, store_id: str) -> bool:
    """Whether ``store_id`` (a store of the caller's organization) is in scope."""
    if sees_every_store(staff):
        return True
    return session.scalar(
        select(Terminal.id).join(TerminalStaff, TerminalStaff.terminal_id == Terminal.id)
        .where(TerminalStaff.staff_id == staff.staff_id, Terminal.store_id == store_id)
        .limit(1)) is not None


def out_of_scope(store_id: str, what: str = "work with the records") -> ApiError:
    """``403 store_scope``: a store the caller named that is not in their scope."""
    return ApiError(403, "store_scope", f"You may only {what} of the stores whose tills you "
                    "work on", {"store_id": store_id})


def check_named_store(session: Session, staff: StaffPrincipal, store_id: str,
                      what: str = "work with the records") -> None:
    """A store the caller named: 404 unless the organization's, 403 ``store_scope``
    unless in scope."""
    store = session.get(Store, store_id)
    if store is None or store.org_id != staff.org_id:
        raise not_found("Store")
    if not in_scope(session, staff, store_id):
        raise out_of_scope(store_id, what)


def stores_read(session: Session, staff: StaffPrincipal, store_id: str | None,
                what: str = "work with the records") -> list[str] | None:
    """The stores a list reads: ``store_id`` alone if named (404 unless the
    organization's, 403 ``store_scope`` unless in scope), else those in scope, sorted
    (None: every store of the organization, no statement run)."""
    if store_id:
        check_named_store(session, staff, store_id, what)
        return [store_id]
    mine = stores_in_scope(session, staff)
    return None if mine is None else sorted(mine)


def check_record_store(session: Session, staff: StaffPrincipal, store_id: str,
                       entity: str) -> None:
    """A record of store ``store_id`` looked up by its id: 404 ``entity`` unless in scope
    (the caller has checked the organization)."""
    if not in_scope(session, staff, store_id):
        raise not_found(entity)


def scope(session: Session, staff: StaffPrincipal, store_id: str | None,
          org_stores: set[str], what: str = "work with the records") -> list[str]:
    """The stores to read, sorted: ``store_id`` alone if named (404 unless one of
    ``org_stores``, the organization's; 403 ``store_scope`` unless in scope), else every
    store in scope."""
    if store_id is not None and store_id not in org_stores:
        raise not_found("Store")
    mine = stores_in_scope(session, staff)
    mine = org_stores if mine is None else mine & org_stores
    if store_id is not None:
        if store_id not in mine:
            raise out_of_scope(store_id, what)
        return [store_id]
    return sorted(mine)
