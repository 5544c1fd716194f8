"""A new organization that can trade at once: ``tillsync-server create-org``'s defaults.

Why: an organization made bare had no store, nobody who could sign in and no way to
enroll a till, so the first till showed a sign-in screen with no staff. What a shop
needs that lives in the server's tables is made here, all editable afterwards through
the back office (PATCH /stores/{id}, /staff): a store with its currency, locale, tax
mode and receipt text, an owner who can sign in, and a one-time enrollment code (text,
and a QR code a till can scan: ``tillsync://enroll?server=…&code=…``).

Tax rates, tenders and roles are not per-organization tables: a product carries its
own tax rate, the tenders (cash, card, …) and roles (owner … stock) are the domain's
(app/domain/tender.py, app/domain/permissions.py) and apply to every organization.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from urllib.parse import urlencode

from argon2 import PasswordHasher
from sqlalchemy.orm import Session

from app.domain.permissions import Role
from server.db.models import Organization, Staff, Store
from server.tenancy import service as tenancy

DEFAULT_FOOTER = "Thank you for shopping with us!"
CODE_TTL_S = 7 * 24 * 3600


@dataclass
class ShopDefaults:
    store_name: str | None = None  # default: the organization's name
    currency: str = "EUR"
    locale: str = "en_IE"
    tax_inclusive: bool = True
    address: str = ""
    receipt_footer: str = DEFAULT_FOOTER
    owner_name: str = "Owner"
    owner_password: str | None = None
    owner_pin: str | None = None


@dataclass
class NewShop:
    org: Organization
    store: Store
    owner: Staff | None
    code: str


def create_shop(session: Session, hasher: PasswordHasher, name: str,
                defaults: ShopDefaults) -> NewShop:
    """The organization with its first store, its owner (when a secret is given) and a
    one-time enrollment code for the first till (an owner's till: the back-office PC)."""
    org = tenancy.create_org(session, name)
    store = tenancy.create_store(
        session, org.id, defaults.store_name or name, defaults.currency,
        defaults.tax_inclusive, address=defaults.address, locale=defaults.locale,
        receipt_footer=defaults.receipt_footer)
    owner = None
    if defaults.owner_password or defaults.owner_pin:
        owner = tenancy.create_staff(session, hasher, org.id, defaults.owner_name, Role.OWNER,
                                     pin=defaults.owner_pin, password=defaults.owner_password)
    code, _ = tenancy.create_enrollment_code(session, org.id, store.id, CODE_TTL_S,
                                             max_role=Role.OWNER)
    return NewShop(org, store, owner, code)


def enrollment_link(server_url: str, code: str) -> str:
    """What a till's first-run screen understands when scanned or pasted."""
    return "tillsync://enroll?" + urlencode({"server": server_url, "code": code})


def qr_text(link: str) -> str:
    """The link as a QR code drawn with text blocks (for a terminal window)."""
    import qrcode

    qr = qrcode.QRCode(border=2)
    qr.add_data(link)
    out = io.StringIO()
    qr.print_ascii(out=out, invert=True)
    return out.getvalue()


def qr_png(link: str) -> bytes:
    """The link as a QR code PNG (for the back office, or to print)."""
    import qrcode

    image = qrcode.make(link, border=2)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue()
