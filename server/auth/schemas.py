"""Request and response bodies of staff sign-in."""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator


class LoginRequest(BaseModel):
    staff_id: str = Field(min_length=1, max_length=64)
    password: str | None = Field(default=None, max_length=200)
    pin: str | None = Field(default=None, max_length=32)

    @model_validator(mode="after")
    def _one_secret(self) -> LoginRequest:
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


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=200)
