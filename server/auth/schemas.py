"""Request and response bodies of staff sign-in."""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator

from app.domain.limits import ID_LENGTH

STAFF_CODE_LENGTH = 20  # the staff.code column


class LoginRequest(BaseModel):
    """Who signs in (``staff_id``, or ``code`` with its organization) and their secret
    (``pin`` or ``password``).

    A staff code (``1001``) is unique within an organization only, so a sign-in by code
    names the organization: ``org_id``, or, at a till, the till's terminal token in
    ``Authorization: Bearer tt_...`` (the till's organization). Without either the
    answer is 422 ``org_required``. ``org_id`` wins over the till's organization."""

    staff_id: str | None = Field(default=None, min_length=1, max_length=64,
                                 description="the staff member's id (a UUID)")
    code: str | None = Field(default=None, min_length=1, max_length=STAFF_CODE_LENGTH,
                             description="the staff code typed at the till (e.g. 1001); "
                             "instead of staff_id")
    org_id: str | None = Field(default=None, min_length=1, max_length=ID_LENGTH,
                               description="the organization of ``code``; not needed with "
                               "a terminal token")
    password: str | None = Field(default=None, max_length=200)
    pin: str | None = Field(default=None, max_length=32)

    @model_validator(mode="after")
    def _who_and_secret(self) -> LoginRequest:
        if (self.staff_id is None) == (self.code is None):
            raise ValueError("give either staff_id or code (with org_id), not both")
        if not self.password and not self.pin:
            raise ValueError("give a password or a PIN")
        return self


class StaffOut(BaseModel):
    id: str
    org_id: str
    name: str
    role: str
    active: bool
    code: str | None = None


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int
    staff: StaffOut
    pin_change_required: bool = Field(
        default=False, description="true when the PIN just used is shorter than the "
        "person's role now needs (a manager's, admin's or owner's: at least 6 digits, set "
        "before the rule): ask for a new PIN; the sign-in itself is granted")
    pin_change_reason: str | None = Field(default=None,
                                          description="why the PIN must change, in words")


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=200)
