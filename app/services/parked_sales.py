"""Park a sale to serve someone else first, and recall it later, on this till.

Several can wait at once (up to MAX_PARKED), each shown with when it was parked, by
whom, its total and an optional label; they survive a restart. Parking is local to the
till and writes no outbox operation: a parked cart is not yet a sale (nothing is sold,
paid or moved in stock), exactly like a cart being rung up, which syncs nothing either.
When it is recalled and paid, the sale is recorded the usual way. Park, recall and
discard are each written to this till's audit chain in the same transaction as the row,
so who parked and who threw a parked sale away can be read later.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from app.domain.cart import Cart, CartLine
from app.domain.ids import new_id
from app.domain.limits import MAX_REASON
from app.domain.permissions import Action, require
from app.domain.text_rules import too_long
from app.domain.totals import Discount
from app.services.customers import CustomerDetails
from app.store import audit
from app.store.base import utcnow
from app.store.local import LocalStore
from app.store.models import Device, Staff
from app.store.models_till_ui import ParkedSale
from app.store.unit_of_work import Actor

MAX_PARKED = 20
MAX_LABEL = 80


class ParkError(ValueError):
    """Parking or recalling refused; the message is for the person."""


@dataclass(frozen=True)
class Parked:
    """One parked sale as the list shows it."""

    id: str
    parked_at: datetime
    parked_by: str  # the person's name
    label: str | None
    total: int
    line_count: int
    customer_name: str | None


def cart_to_dict(cart: Cart) -> dict[str, Any]:
    return {"tax_inclusive": cart.tax_inclusive, "order_discount": asdict(cart.order_discount),
            "lines": [asdict(li) for li in cart.lines]}


def cart_from_dict(data: dict[str, Any]) -> Cart:
    lines = [CartLine(**{**li, "discount": Discount(**li["discount"])}) for li in data["lines"]]
    return Cart(tax_inclusive=data["tax_inclusive"], lines=lines,
                order_discount=Discount(**data["order_discount"]))


def _seal_customer(store: LocalStore, customer: CustomerDetails | None) -> bytes | None:
    if customer is None:
        return None
    return store.cipher.encrypt(json.dumps(customer.as_dict()), field="parked_customer")


def _open_customer(store: LocalStore, blob: bytes | None) -> CustomerDetails | None:
    text = store.cipher.decrypt(blob, field="parked_customer")
    return CustomerDetails(**json.loads(text)) if text else None


def park(store: LocalStore, actor: Actor, cart: Cart, customer: CustomerDetails | None = None,
         label: str | None = None) -> str:
    """Keep ``cart`` (and its customer) on this till; returns the parked sale's id."""
    require(actor.role, Action.SALE_CREATE)
    if cart.is_empty:
        raise ParkError("There is nothing to park: the sale has no items")
    label = (label or "").strip() or None
    problem = too_long("The label", label, MAX_LABEL)
    if problem:
        raise ParkError(problem)
    total, now = cart.totals().total, utcnow()
    with store.db.write() as s:
        waiting = len(s.scalars(select(ParkedSale.id).where(ParkedSale.device_id == store.device_id)).all())
        if waiting >= MAX_PARKED:
            raise ParkError(f"{MAX_PARKED} sales are parked already; recall or discard one first")
        parked = ParkedSale(id=new_id(), device_id=store.device_id, parked_by=actor.staff_id, parked_at=now,
                            label=label, total=total, line_count=len(cart.lines), cart=cart_to_dict(cart),
                            customer_enc=_seal_customer(store, customer))
        s.add(parked)
        s.flush()
        audit.append(s, s.get(Device, store.device_id), at=now, actor_id=actor.staff_id, action="sale.park",
                     entity_type="parked_sale", entity_id=parked.id,
                     changes={"total": {"before": None, "after": total},
                              "lines": {"before": None, "after": len(cart.lines)}}, reason=label)
        return parked.id


def parked(store: LocalStore) -> list[Parked]:
    """This till's parked sales, oldest first (the first customer waiting longest)."""
    with store.db.read() as s:
        rows = s.execute(select(ParkedSale, Staff.name).outerjoin(Staff, Staff.id == ParkedSale.parked_by)
                         .where(ParkedSale.device_id == store.device_id)
                         .order_by(ParkedSale.parked_at, ParkedSale.id)).all()
        result = []
        for row, name in rows:
            customer = _open_customer(store, row.customer_enc)
            result.append(Parked(row.id, row.parked_at, name or "someone", row.label, row.total, row.line_count,
                                 customer.name if customer else None))
        return result


def recall(store: LocalStore, actor: Actor, parked_id: str) -> tuple[Cart, CustomerDetails | None]:
    """Take a parked sale back into the register (it is no longer parked)."""
    require(actor.role, Action.SALE_CREATE)
    return _take(store, actor, parked_id, "sale.recall", None)


def discard(store: LocalStore, actor: Actor, parked_id: str, reason: str) -> None:
    """Throw a parked sale away (the customer left); the reason goes in the audit trail."""
    require(actor.role, Action.SALE_CREATE)
    reason = reason.strip()
    if not reason:
        raise ParkError("Say why the parked sale is thrown away")
    problem = too_long("The reason", reason, MAX_REASON)
    if problem:
        raise ParkError(problem)
    _take(store, actor, parked_id, "sale.park.discard", reason)


def _take(store: LocalStore, actor: Actor, parked_id: str, action: str,
          reason: str | None) -> tuple[Cart, CustomerDetails | None]:
    with store.db.write() as s:
        row = s.get(ParkedSale, parked_id)
        if row is None or row.device_id != store.device_id:
            raise ParkError("That parked sale is gone (recalled or thrown away already)")
        cart, customer = cart_from_dict(row.cart), _open_customer(store, row.customer_enc)
        audit.append(s, s.get(Device, store.device_id), at=utcnow(), actor_id=actor.staff_id, action=action,
                     entity_type="parked_sale", entity_id=row.id,
                     changes={"total": {"before": row.total, "after": None},
                              "lines": {"before": row.line_count, "after": None}}, reason=reason)
        s.delete(row)
        return cart, customer
