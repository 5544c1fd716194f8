"""/stores, /staff, /terminals: tenancy administration and terminal enrollment."""

from __future__ import annotations

from fastapi import APIRouter

from app.domain.permissions import Action, Role
from server.auth.deps import CtxDep, StaffDep, TerminalDep, require
from server.auth.schemas import StaffOut
from server.auth.service import staff_out
from server.db.models import Store, Terminal
from server.errors import ApiError, not_found
from server.tenancy import repository as repo
from server.tenancy import service, terminals
from server.tenancy.schemas import (
    EnrollmentCodeIn,
    EnrollmentCodeOut,
    EnrollRequest,
    EnrollResponse,
    StaffIn,
    StaffPatch,
    StoreIn,
    StoreOut,
    StorePatch,
    TerminalOut,
    TerminalPatch,
)

router = APIRouter(tags=["tenancy"])


def _terminal_out(t: Terminal) -> TerminalOut:
    return TerminalOut(
        id=t.id, org_id=t.org_id, store_id=t.store_id, name=t.name, device_code=t.device_code,
        last_applied_seq=t.last_applied_seq, max_role=Role(t.max_role), revoked=t.revoked, enrolled_at=t.enrolled_at,
        last_seen_at=t.last_seen_at,
    )


@router.get("/stores", response_model=list[StoreOut])
def list_stores(staff: StaffDep, ctx: CtxDep) -> list[StoreOut]:
    with ctx.reader() as session:
        return [service.store_out(s) for s in repo.stores_of(session, staff.org_id)]


@router.post("/stores", response_model=StoreOut, status_code=201)
def create_store(body: StoreIn, staff: StaffDep, ctx: CtxDep) -> StoreOut:
    require(staff, Action.SETTINGS_EDIT)
    with ctx.writer.begin() as session:
        store = service.create_store(
            session, staff.org_id, body.name, body.currency, body.tax_inclusive,
            address=body.address, tax_id=body.tax_id, locale=body.locale,
            receipt_footer=body.receipt_footer,
        )
        return service.store_out(store)


@router.patch("/stores/{store_id}", response_model=StoreOut)
def update_store(store_id: str, body: StorePatch, staff: StaffDep, ctx: CtxDep) -> StoreOut:
    """Change store settings; every terminal of the store gets them through the feed."""
    require(staff, Action.SETTINGS_EDIT)
    with ctx.writer.begin() as session:
        return service.store_out(service.update_store(session, staff.org_id, store_id, body))


@router.get("/staff", response_model=list[StaffOut])
def list_staff(staff: StaffDep, ctx: CtxDep) -> list[StaffOut]:
    require(staff, Action.STAFF_MANAGE)
    with ctx.reader() as session:
        return [staff_out(s) for s in repo.staff_of(session, staff.org_id)]


@router.post("/staff", response_model=StaffOut, status_code=201)
def create_staff(body: StaffIn, staff: StaffDep, ctx: CtxDep) -> StaffOut:
    require(staff, Action.STAFF_MANAGE)
    if body.role in (Role.OWNER, Role.ADMIN) and staff.role != Role.OWNER.value:
        raise ApiError(403, "permission_denied", "Only an owner may create owners and admins")
    with ctx.writer.begin() as session:
        created = service.create_staff(
            session, ctx.hasher, staff.org_id, body.name, body.role,
            pin=body.pin, password=body.password, code=body.code,
        )
        return staff_out(created)


@router.patch("/staff/{staff_id}", response_model=StaffOut)
def update_staff(staff_id: str, body: StaffPatch, staff: StaffDep, ctx: CtxDep) -> StaffOut:
    require(staff, Action.STAFF_MANAGE)
    with ctx.writer.begin() as session:
        updated = service.update_staff(
            session, ctx.hasher, staff.org_id, staff_id, body, by_role=staff.role
        )
        return staff_out(updated)


@router.post("/terminals/enrollment-codes", response_model=EnrollmentCodeOut, status_code=201)
def create_enrollment_code(body: EnrollmentCodeIn, staff: StaffDep, ctx: CtxDep) -> EnrollmentCodeOut:
    """A one-time code an admin types into a new terminal (valid 24 hours by default).

    ``max_role`` is the terminal's role ceiling (default manager); nobody hands out a
    ceiling above their own role (403)."""
    require(staff, Action.TERMINAL_ENROLL)
    with ctx.writer.begin() as session:
        code, row = service.create_enrollment_code(
            session, staff.org_id, body.store_id, ctx.settings.enrollment_code_ttl_s,
            created_by=staff.staff_id, max_role=body.max_role, by_role=staff.role,
        )
        return EnrollmentCodeOut(code=code, store_id=row.store_id, expires_at=row.expires_at,
                                 max_role=Role(row.max_role))


@router.post("/terminals/enroll", response_model=EnrollResponse, status_code=201)
def enroll(body: EnrollRequest, ctx: CtxDep) -> EnrollResponse:
    """Enroll a terminal with a one-time code; keep ``terminal_token`` in the OS keyring."""
    with ctx.writer.begin() as session:
        return service.enroll(session, body.code, body.name)


@router.get("/terminals", response_model=list[TerminalOut])
def list_terminals(staff: StaffDep, ctx: CtxDep) -> list[TerminalOut]:
    require(staff, Action.TERMINAL_ENROLL)
    with ctx.reader() as session:
        return [_terminal_out(t) for t in repo.terminals_of(session, staff.org_id)]


@router.post("/terminals/{terminal_id}/revoke", response_model=TerminalOut)
def revoke_terminal(terminal_id: str, staff: StaffDep, ctx: CtxDep) -> TerminalOut:
    require(staff, Action.TERMINAL_ENROLL)
    with ctx.writer.begin() as session:
        term = session.get(Terminal, terminal_id)
        if term is None or term.org_id != staff.org_id:
            raise not_found("Terminal")
        term.revoked = True
        return _terminal_out(term)


@router.patch("/terminals/{terminal_id}", response_model=TerminalOut)
def update_terminal(terminal_id: str, body: TerminalPatch, staff: StaffDep,
                    ctx: CtxDep) -> TerminalOut:
    """Change a terminal's role ceiling without enrolling it again (owner or admin; never
    above the caller's own role, nor on a till that takes someone above it: 403). The
    push path holds it from the next push; the till hears it in its next pull answer
    (``max_role``) and the feed stops sending it the PIN hashes of staff above it. An
    audit entry (``terminal.ceiling``) names who changed it, from what to what."""
    require(staff, Action.TERMINAL_ENROLL)
    with ctx.writer.begin() as session:
        return _terminal_out(terminals.set_ceiling(
            session, staff.org_id, terminal_id, body.max_role, by_role=staff.role,
            by_staff_id=staff.staff_id, reason=body.reason))


@router.get("/terminals/me", response_model=TerminalOut)
def terminal_me(terminal: TerminalDep, ctx: CtxDep) -> TerminalOut:
    """The calling terminal, e.g. to read back its ``last_applied_seq``."""
    with ctx.reader() as session:
        term = session.get(Terminal, terminal.terminal_id)
        store = session.get(Store, terminal.store_id)
        if term is None or store is None:
            raise not_found("Terminal")
        return _terminal_out(term)
