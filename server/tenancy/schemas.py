"""Bodies of the organisation, store, staff and terminal endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from app.domain.limits import ID_LENGTH
from app.domain.money import is_locale, is_tender
from app.domain.permissions import Role


def _tender(value: str | None) -> str | None:
    """A store's currency, upper case, one a till can trade in (app/domain/money.py)."""
    if value is None:
        return None
    code = value.upper()
    if not is_tender(code):
        raise ValueError(f"{value!r} is not a currency a store can trade in "
                         "(an ISO 4217 code such as EUR, GBP, USD)")
    return code


def _locale(value: str | None) -> str | None:
    """A locale the tills can format amounts and dates in."""
    if value is not None and not is_locale(value):
        raise ValueError(f"{value!r} is not a locale the tills know (e.g. en_IE, de_DE, fr)")
    return value


class StoreIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    currency: str = Field(default="EUR", min_length=3, max_length=3)
    tax_inclusive: bool = True
    address: str = Field(default="", max_length=500)
    tax_id: str = Field(default="", max_length=50)
    locale: str = Field(default="en_IE", min_length=2, max_length=20)
    receipt_footer: str = Field(default="Thank you!", max_length=1000)

    _currency_ok = field_validator("currency")(_tender)
    _locale_ok = field_validator("locale")(_locale)


class StoreOut(BaseModel):
    id: str
    org_id: str
    name: str
    currency: str
    tax_inclusive: bool
    address: str = ""
    tax_id: str = ""
    locale: str = "en_IE"
    receipt_footer: str = ""
    version: int = 1
    till_limits: dict[str, Any] | None = None
    recount_share_ppm: int | None = None


class StorePatch(BaseModel):
    """Store settings (receipt header and footer, currency, tax mode); all optional."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    address: str | None = Field(default=None, max_length=500)
    tax_id: str | None = Field(default=None, max_length=50)
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    locale: str | None = Field(default=None, min_length=2, max_length=20)
    tax_inclusive: bool | None = None
    receipt_footer: str | None = Field(default=None, max_length=1000)
    till_limits: dict[str, Any] | None = Field(
        default=None, description="till limits by role (docs/staff-guide.md): "
        "line_discount_ppm and order_discount_ppm {role: ppm}, price_override, "
        "refund_without_receipt and no_sale [roles], auto_open_shift, over_short_threshold")
    recount_share_ppm: int | None = Field(
        default=None, ge=1, le=1_000_000,
        description="the reconciliation list shows counts that moved stock by more than "
        "this share of what the books said (parts per million: 250000 = 25 %)")

    _currency_ok = field_validator("currency")(_tender)
    _locale_ok = field_validator("locale")(_locale)


class StaffIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    role: Role
    code: str | None = Field(default=None, min_length=1, max_length=20, pattern=r"^[0-9A-Za-z]+$",
                             description="short staff number for PIN sign-in at the till")
    pin: str | None = Field(default=None, min_length=4, max_length=12, pattern=r"^[0-9]+$")
    password: str | None = Field(default=None, min_length=8, max_length=200)


class StaffPatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    code: str | None = Field(default=None, min_length=1, max_length=20, pattern=r"^[0-9A-Za-z]+$",
                             description="short staff number for PIN sign-in at the till")
    role: Role | None = None
    active: bool | None = None
    pin: str | None = Field(default=None, min_length=4, max_length=12, pattern=r"^[0-9]+$")
    password: str | None = Field(default=None, min_length=8, max_length=200)


CEILING_HELP = ("the terminal's role ceiling: the most senior role that may work on it; "
                "the server refuses pushed operations of an actor or approver above it "
                "(a shop-floor till: manager, the back-office PC: owner)")


class EnrollmentCodeIn(BaseModel):
    store_id: str = Field(min_length=1, max_length=ID_LENGTH)
    max_role: Role = Field(default=Role.MANAGER, description=CEILING_HELP)


class EnrollmentCodeOut(BaseModel):
    code: str
    store_id: str
    expires_at: datetime
    max_role: Role = Field(default=Role.MANAGER, description=CEILING_HELP)


class TerminalPatch(BaseModel):
    """A change to an enrolled terminal: its role ceiling (the till learns it on its next
    pull, as the pull answer's ``max_role``)."""

    max_role: Role = Field(description=CEILING_HELP)
    reason: str | None = Field(default=None, max_length=500,
                               description="why, for the audit trail")


class EnrollRequest(BaseModel):
    code: str = Field(min_length=4, max_length=40)
    name: str = Field(min_length=1, max_length=200)


class EnrollResponse(BaseModel):
    """What a terminal keeps after enrolling; ``terminal_token`` goes in its keyring."""

    device_id: str
    device_code: str
    store_id: str
    org_id: str
    terminal_token: str
    store: StoreOut
    max_role: Role = Field(default=Role.MANAGER, description=CEILING_HELP)


class TerminalOut(BaseModel):
    id: str
    org_id: str
    store_id: str
    name: str
    device_code: str
    last_applied_seq: int
    max_role: Role = Field(default=Role.MANAGER, description=CEILING_HELP)
    revoked: bool
    enrolled_at: datetime
    last_seen_at: datetime | None = None
