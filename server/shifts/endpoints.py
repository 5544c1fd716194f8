"""/shifts: managers read the tills' shifts, a shift's Z report (JSON, PDF) and the
store's day across its tills (report.view permission), of the stores in their scope
(server/tenancy/scope.py: an owner or admin every store of the organization, a manager
the stores whose tills they work on)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.domain import shift_report
from app.domain.money import format_money
from app.domain.permissions import Action
from app.domain.shift_report_lines import text_lines, utc_text, x_rows, z_rows
from server.auth.deps import CtxDep, StaffDep, require
from server.db.models import Store
from server.pagination import Day, IdPath, Limit, Offset, StatusFilter, StoreFilter
from server.shifts import pdf, service
from server.shifts.schemas import ShiftOut, ShiftReportOut, StoreDayOut
from sync.protocol import ErrorEnvelope

router = APIRouter(prefix="/shifts", tags=["shifts"])
TerminalFilter = Annotated[str | None, Query(max_length=36, description="one till's shifts")]
_ERRORS: dict[int | str, dict[str, object]] = {
    403: {"model": ErrorEnvelope, "description": "permission_denied: the caller's role lacks "
          "report.view; store_scope: the store named is not one whose tills you work on"},
    404: {"model": ErrorEnvelope, "description": "not_found: no such shift or store in the "
          "caller's organization, or a shift of a store you do not work at"},
}


@router.get("", response_model=list[ShiftOut], responses=_ERRORS)
def list_shifts(staff: StaffDep, ctx: CtxDep, store_id: StoreFilter = None,
                terminal_id: TerminalFilter = None, date_from: Day | None = None,
                date_to: Day | None = None, status: StatusFilter = None,
                limit: Limit = 100, offset: Offset = 0) -> list[ShiftOut]:
    """The shifts of the stores in the caller's scope (an owner or admin: every store of
    the organization; a manager: the stores whose tills they work on), newest first;
    ``date_from``/``date_to`` (inclusive) filter by the day the shift opened, each
    store's day in its time zone (``PUT /analytics/stores/{id}/time-zone``; UTC for a
    store that set none)."""
    require(staff, Action.REPORT_VIEW)
    return service.list_shifts(ctx, staff, store_id, terminal_id, date_from, date_to,
                               status or None, limit, offset)


@router.get("/day", response_model=StoreDayOut, responses=_ERRORS)
def store_day(staff: StaffDep, ctx: CtxDep, store_id: Annotated[str, Query(max_length=36)],
              day: Annotated[Day, Query(alias="date")]) -> StoreDayOut:
    """The store's day: the sum of the Z reports of its shifts closed that day, from
    midnight to midnight in the store's time zone (a day that changes the clocks is 23
    or 25 hours), with each till's counted cash and over/short."""
    require(staff, Action.REPORT_VIEW)
    return service.store_day(ctx, staff, store_id, day)


@router.get("/{shift_id}/report", response_model=ShiftReportOut, responses=_ERRORS)
def shift_report_json(shift_id: IdPath, staff: StaffDep, ctx: CtxDep) -> ShiftReportOut:
    """A shift with its Z report as its till made it at the close, or while it is open
    its X figures as far as the server can tell (``live``)."""
    require(staff, Action.REPORT_VIEW)
    return service.shift_report_of(ctx, staff, shift_id)


@router.get("/{shift_id}/report.pdf", response_class=Response, responses=_ERRORS | {
    200: {"content": {"application/pdf": {}}, "description": "the Z report as a PDF (an "
          "open shift: its X report as far as the server can tell)"}})
def shift_report_pdf(shift_id: IdPath, staff: StaffDep, ctx: CtxDep) -> Response:
    """The shift's Z report as a PDF (the same rows the till prints); while the shift is
    open, its X report from what its till has synced so far."""
    require(staff, Action.REPORT_VIEW)
    out = service.shift_report_of(ctx, staff, shift_id)
    with ctx.reader() as session:
        store = session.get(Store, out.store_id)
        currency, locale = (store.currency, store.locale) if store else ("EUR", "en_IE")

    def money(minor: int) -> str:
        return format_money(minor, currency, locale)

    if out.report:
        z = shift_report.z_from_dict(out.report)
        rows = z_rows(z, money, till=out.terminal_id[:8], when=utc_text)
        title, name = f"Z report {z.z_number}", f"z-{z.z_number}.pdf"
    else:
        live = shift_report.report_from_dict(out.live or {})
        rows = x_rows(live, money, till=out.terminal_id[:8], when=utc_text)
        title, name = "X report (as synced)", f"x-{out.id[:8]}.pdf"
    body = pdf.text_pdf(text_lines(rows, pdf.WIDTH), title=title)
    return Response(body, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{name}"'})
