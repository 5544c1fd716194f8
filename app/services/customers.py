"""Customers: personal data encrypted at rest; exact phone look-up by blind index."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app.domain.ids import new_id
from app.domain.limits import MAX_EMAIL, MAX_NAME, MAX_PHONE
from app.domain.order_status import OrderStatus
from app.domain.phone import country_of_locale, equivalent_forms, looks_like_phone
from app.domain.text_rules import too_long
from app.services.payment_plans import OverdueInstallment, overdue_installments, status_of
from app.store.crypto import PersonalDataCipher
from app.store.local import LocalStore
from app.store.models import Customer, Installment, Order, StoreSettings


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


# ---------------------------------------------------------------- at the till (issue 21)

#: how many customers a name search decrypts at most (names are sealed: no SQL LIKE)
NAME_SCAN_LIMIT = 5000


@dataclass(frozen=True)
class CustomerMatch:
    """A customer found at the till, with how many orders and what is still owed."""

    id: str
    name: str | None
    phone: str | None
    email: str | None
    orders: int
    owed: int  # balance of their pending orders (plans included)

    def details(self) -> CustomerDetails:
        return CustomerDetails(self.id, self.name, self.phone, self.email)


@dataclass(frozen=True)
class CustomerOrder:
    order_id: str
    reference: str
    created_at: datetime
    status: str
    total: int
    paid: int
    plan_outstanding: int  # 0 without a plan
    overdue: int  # of that, what is past due
    next_due: date | None
    balance: int = 0  # what is still owed on it (app/domain/order_balance.py)


@dataclass(frozen=True)
class CustomerAccount:
    customer: CustomerDetails
    orders: list[CustomerOrder]

    @property
    def owed(self) -> int:
        return sum(max(0, o.balance) for o in self.orders if o.status == OrderStatus.PENDING.value)


def _country(s: Session) -> str:
    return country_of_locale(s.scalar(select(StoreSettings.locale).limit(1)))


def find_customers(store: LocalStore, text: str, limit: int = 20) -> list[CustomerMatch]:
    """By phone (any local or international form of the number: the blind index of each)
    or by part of the name (names are decrypted in memory, never stored in clear)."""
    text = text.strip()
    if not text:
        return []
    with store.db.read() as s:
        if looks_like_phone(text):
            forms = equivalent_forms(text, _country(s))
            indexes = [i for i in (store.cipher.phone_index(f) for f in forms) if i]
            found = list(s.scalars(select(Customer).where(Customer.phone_index.in_(indexes)).limit(limit)))
        else:
            q = text.casefold()
            found = []
            for c in s.scalars(select(Customer).limit(NAME_SCAN_LIMIT)):
                name = store.cipher.decrypt(c.name_enc, field="name") or ""
                if q in name.casefold():
                    found.append(c)
                    if len(found) >= limit:
                        break
        return [_match(s, store, c) for c in found]


def _match(s: Session, store: LocalStore, c: Customer) -> CustomerMatch:
    d = decrypt(store.cipher, c)
    count = s.scalar(select(func.count(Order.id))
                     .where(Order.customer_id == c.id, Order.status != OrderStatus.DELETED.value))
    owed = sum(max(0, o.balance) for o in s.scalars(  # (goods brought back: order_balance)
        select(Order).where(Order.customer_id == c.id, Order.status == OrderStatus.PENDING.value)
        .options(selectinload(Order.lines))))  # (.balance reads them: one query, not one an order)
    return CustomerMatch(c.id, d.name, d.phone, d.email, int(count or 0), owed)


def customer_account(store: LocalStore, customer_id: str, today: date) -> CustomerAccount:
    """The customer's orders, newest first, with what is owed on each plan and what is late."""
    with store.db.read() as s:
        c = s.get(Customer, customer_id)
        if c is None:
            raise LookupError("That customer is not on this till")
        orders = []
        for o in s.scalars(select(Order).where(Order.customer_id == customer_id).order_by(Order.created_at.desc())):
            rows = list(s.scalars(select(Installment).where(Installment.order_id == o.id)
                                  .order_by(Installment.number)))
            outstanding = late = 0
            next_due = None
            if rows and o.status == OrderStatus.PENDING.value:
                plan = status_of(o, rows)
                outstanding = plan.outstanding
                late = sum(i.outstanding for i in plan.installments if i.outstanding and i.due_date < today)
                next_due = next((i.due_date for i in plan.installments if i.outstanding), None)
            orders.append(CustomerOrder(o.id, o.reference, o.created_at, o.status, o.total, o.paid,
                                        outstanding, late, next_due, o.balance))
        return CustomerAccount(decrypt(store.cipher, c), orders)


def customers_of_orders(store: LocalStore, order_ids: list[str]) -> dict[str, CustomerDetails]:
    """Each order's customer, decrypted (orders with none are left out): who to call about
    an overdue installment."""
    if not order_ids:
        return {}
    with store.db.read() as s:
        rows = s.execute(select(Order.id, Customer).join(Customer, Customer.id == Order.customer_id)
                         .where(Order.id.in_(order_ids))).all()
        return {order_id: decrypt(store.cipher, c) for order_id, c in rows}


def overdue_with_customers(store: LocalStore, today: date) -> tuple[list[OverdueInstallment],
                                                                    dict[str, CustomerDetails]]:
    """Every overdue installment (payment_plans.overdue_installments) and who owes each,
    by order id."""
    rows = overdue_installments(store, today)
    return rows, customers_of_orders(store, sorted({r.order_id for r in rows}))
