"""/shifts: managers read the tills' shifts, a shift's Z report (JSON, PDF) and the
store's day across its tills (report.view permission; the caller's organization only)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.domain import shift_report
from app.domain.money import format_money
from app.domain.permissions import Action
from app.domain.shift_report_lines import text_lines, utc_text, z_rows
from server.auth.deps import CtxDep, StaffDep, require
from server.db.models import Store
from server.errors import ApiError
from server.pagination import IdPath, Limit, Offset, StatusFilter, StoreFilter
from server.shifts import pdf, service
from server.shifts.schemas import ShiftOut, ShiftReportOut, StoreDayOut
from sync.protocol import ErrorEnvelope

router = APIRouter(prefix="/shifts", tags=["shifts"])
TerminalFilter = Annotated[str | None, Query(max_length=36, description="one till's shifts")]
_ERRORS: dict[int | str, dict[str, object]] = {
    403: {"model": ErrorEnvelope, "description": "permission_denied: the caller's role lacks "
          "report.view"},
    404: {"model": ErrorEnvelope, "description": "not_found: no such shift or store in the "
          "caller's organization"},
}


@router.get("", response_model=list[ShiftOut], responses=_ERRORS)
def list_shifts(staff: StaffDep, ctx: CtxDep, store_id: StoreFilter = None,
                terminal_id: TerminalFilter = None, date_from: date | None = None,
                date_to: date | None = None, status: StatusFilter = None,
                limit: Limit = 100, offset: Offset = 0) -> list[ShiftOut]:
    """The organization's shifts, newest first; ``date_from``/``date_to`` (UTC days,
    inclusive) filter by the day the shift opened."""
    require(staff, Action.REPORT_VIEW)
    return service.list_shifts(ctx, staff.org_id, store_id, terminal_id, date_from, date_to,
                               status or None, limit, offset)


@router.get("/day", response_model=StoreDayOut, responses=_ERRORS)
def store_day(staff: StaffDep, ctx: CtxDep, store_id: Annotated[str, Query(max_length=36)],
              day: Annotated[date, Query(alias="date")]) -> StoreDayOut:
    """The store's day: the sum of the Z reports of its shifts closed that day (UTC), with
    each till's counted cash and over/short."""
    require(staff, Action.REPORT_VIEW)
    return service.store_day(ctx, staff.org_id, store_id, day)


@router.get("/{shift_id}/report", response_model=ShiftReportOut, responses=_ERRORS)
def shift_report_json(shift_id: IdPath, staff: StaffDep, ctx: CtxDep) -> ShiftReportOut:
    """A shift with its Z report as its till made it at the close (None while open)."""
    require(staff, Action.REPORT_VIEW)
    return service.shift_report_of(ctx, staff.org_id, shift_id)


@router.get("/{shift_id}/report.pdf", response_class=Response, responses=_ERRORS | {
    200: {"content": {"application/pdf": {}}, "description": "the Z report as a PDF"},
    409: {"model": ErrorEnvelope, "description": "not_closed: the shift has no Z report yet"}})
def shift_report_pdf(shift_id: IdPath, staff: StaffDep, ctx: CtxDep) -> Response:
    """The shift's Z report as a PDF (the same rows the till prints)."""
    require(staff, Action.REPORT_VIEW)
    out = service.shift_report_of(ctx, staff.org_id, shift_id)
    if not out.report:
        raise ApiError(409, "not_closed", "This shift is still open: it has no Z report yet")
    with ctx.reader() as session:
        store = session.get(Store, out.store_id)
        currency, locale = (store.currency, store.locale) if store else ("EUR", "en_IE")
    z = shift_report.z_from_dict(out.report)
    rows = z_rows(z, lambda m: format_money(m, currency, locale), till=out.terminal_id[:8],
                  when=utc_text)
    body = pdf.text_pdf(text_lines(rows, pdf.WIDTH), title=f"Z report {z.z_number}")
    return Response(body, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="z-{z.z_number}.pdf"'})
