"""Till limits at the till: what the signed-in person may do alone (app/domain/till_limits.py).

The register asks :func:`sale_breaches` after each discount or price change; when it
answers something, a manager types their PIN and :func:`approver_problem` says whether
their own limits cover the sale. The sales service checks again before writing
(:func:`check_sale`), so a sale past its actor's limits is never recorded without an
approver; the server checks a third time.
"""

from __future__ import annotations

from sqlalchemy import select

from app.domain import till_limits as rules
from app.domain.cart import Cart
from app.domain.till_limits import TillLimits
from app.store.local import LocalStore
from app.store.models import StoreSettings
from app.store.unit_of_work import Actor


class TillLimitError(ValueError):
    """Past a till limit without an approver who may allow it; the message says what."""


def limits(store: LocalStore) -> TillLimits:
    """The store's till limits, as the server last sent them (the defaults before)."""
    with store.db.read() as s:
        raw = s.scalar(select(StoreSettings.till_limits).limit(1))
    return rules.from_dict(raw if isinstance(raw, dict) else None)


def _lines(cart: Cart) -> list[rules.SaleLine]:
    return [rules.SaleLine(li.name, li.unit_price, li.qty_milli, li.tax_rate_ppm, li.discount,
                           li.list_price) for li in cart.lines]


def cart_breaches(limits_: TillLimits, role: str, cart: Cart) -> list[str]:
    """What the cart does beyond ``role``'s limits, in words (empty: within them)."""
    return rules.sale_breaches(limits_, role, _lines(cart), cart.order_discount,
                               inclusive=cart.tax_inclusive)


def sale_breaches(store: LocalStore, actor: Actor, cart: Cart) -> list[str]:
    return cart_breaches(limits(store), actor.role, cart)


def approver_problem(store: LocalStore, approver: Actor, cart: Cart) -> str | None:
    """Why ``approver`` may not allow this cart, in words; None when they may."""
    beyond = cart_breaches(limits(store), approver.role, cart)
    if beyond:
        return f"{approver.name} may not approve this: {'; '.join(beyond)}"
    return None


def check_sale(store: LocalStore, actor: Actor, approver: Actor | None, cart: Cart) -> bool:
    """Whether the sale needs its approver (TillLimitError when it has none who may)."""
    found = sale_breaches(store, actor, cart)
    if not found:
        return False
    if approver is None:
        raise TillLimitError(f"This sale needs a manager's approval: {'; '.join(found)}")
    problem = approver_problem(store, approver, cart)
    if problem:
        raise TillLimitError(problem)
    return True


def may_open_drawer(store: LocalStore, actor: Actor) -> bool:
    """Whether ``actor`` may open the drawer without a sale alone (else a manager's PIN)."""
    return limits(store).may_open_drawer(actor.role)


def auto_open_shift(store: LocalStore) -> bool:
    """Whether selling with no open shift opens one with a zero float."""
    return limits(store).auto_open_shift
