"""REST of running it for real: an enrollment code as a link and QR code a till scans."""

from __future__ import annotations

import base64
from datetime import datetime
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, field_validator

from app.domain.permissions import Action, Role
from server.auth.deps import CtxDep, StaffDep, require
from server.ops.org_setup import enrollment_link, qr_png
from server.tenancy import service as tenancy
from server.tenancy.schemas import EnrollmentCodeIn

router = APIRouter(tags=["terminals"])


class EnrollmentLinkIn(EnrollmentCodeIn):
    server_url: str | None = Field(default=None, max_length=300, description="This server's "
                                   "address as tills reach it (default: the address asked): "
                                   "an http:// or https:// URL with a host")

    @field_validator("server_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        """Only an http(s) address goes into the link and QR code a till scans: no
        javascript:, ftp: or text with spaces or control characters (a header split)."""
        if value is None:
            return None
        if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
            raise ValueError("the server address has spaces or control characters")
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("the server address must be an http:// or https:// URL "
                             "with a host, as tills reach this server")
        return value


class EnrollmentLinkOut(BaseModel):
    code: str
    store_id: str
    expires_at: datetime
    max_role: Role
    link: str = Field(description="tillsync://enroll?server=...&code=...: the first-run "
                      "screen of a till fills address and code from it")
    qr_png_base64: str = Field(description="The link as a QR code (PNG, base64) to show "
                               "or print for the till's scanner")


@router.post("/terminals/enrollment-links", response_model=EnrollmentLinkOut, status_code=201)
def create_enrollment_link(body: EnrollmentLinkIn, request: Request, staff: StaffDep,
                           ctx: CtxDep) -> EnrollmentLinkOut:
    """A one-time enrollment code (as POST /terminals/enrollment-codes, same rules) with
    the link and QR code a new till scans on its first-run screen."""
    require(staff, Action.TERMINAL_ENROLL)
    with ctx.writer.begin() as session:
        code, row = tenancy.create_enrollment_code(
            session, staff.org_id, body.store_id, ctx.settings.enrollment_code_ttl_s,
            created_by=staff.staff_id, max_role=body.max_role, by_role=staff.role)
        expires, store_id, max_role = row.expires_at, row.store_id, Role(row.max_role)
    link = enrollment_link(body.server_url or str(request.base_url).rstrip("/"), code)
    return EnrollmentLinkOut(code=code, store_id=store_id, expires_at=expires,
                             max_role=max_role, link=link,
                             qr_png_base64=base64.b64encode(qr_png(link)).decode())
