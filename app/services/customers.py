"""Customers: personal data encrypted at rest; exact phone look-up by blind index."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.ids import new_id
from app.domain.limits import MAX_EMAIL, MAX_NAME, MAX_PHONE
from app.domain.text_rules import too_long
from app.store.crypto import PersonalDataCipher
from app.store.local import LocalStore
from app.store.models import Customer


@dataclass(frozen=True)
class CustomerDetails:
    id: str | None
    name: str | None = None
    phone: str | None = None
    email: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"id": self.id, "name": self.name, "phone": self.phone, "email": self.email}


def details_problem(details: CustomerDetails) -> str | None:
    """Why these details cannot be recorded (a field longer than it may be), or None."""
    return (too_long("The customer's name", details.name, MAX_NAME)
            or too_long("The customer's phone", details.phone, MAX_PHONE)
            or too_long("The customer's email", details.email, MAX_EMAIL))


def decrypt(cipher: PersonalDataCipher, c: Customer) -> CustomerDetails:
    return CustomerDetails(
        c.id,
        cipher.decrypt(c.name_enc, field="name"),
        cipher.decrypt(c.phone_enc, field="phone"),
        cipher.decrypt(c.email_enc, field="email"),
    )


def find_by_phone(store: LocalStore, phone: str) -> CustomerDetails | None:
    index = store.cipher.phone_index(phone)
    if index is None:
        return None
    with store.db.read() as s:
        c = s.scalars(select(Customer).where(Customer.phone_index == index)).first()
        return decrypt(store.cipher, c) if c else None


def upsert_in(s: Session, cipher: PersonalDataCipher, details: CustomerDetails) -> Customer:
    """Find by id or phone, else create; fill in what was given (inside a mutation)."""
    customer = s.get(Customer, details.id) if details.id else None
    index = cipher.phone_index(details.phone)
    if customer is None and index:
        customer = s.scalars(select(Customer).where(Customer.phone_index == index)).first()
    if customer is None:
        customer = Customer(id=details.id or new_id())
        s.add(customer)
    if details.name:
        customer.name_enc = cipher.encrypt(details.name, field="name")
    if details.phone:
        customer.phone_enc = cipher.encrypt(details.phone, field="phone")
        customer.phone_index = index
    if details.email:
        customer.email_enc = cipher.encrypt(details.email, field="email")
    return customer
