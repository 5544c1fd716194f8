"""Till limits by role, enforced on the server (app/domain/till_limits.py).

A sale whose discounts or price overrides go past its actor's limits, or a refund
without a receipt by someone whose limits do not allow one, is applied only when it
names an approver (``approved_by``) whose own limits cover it. The approver's proof of
such an op is checked by the dispatch before the handler runs (server/sync/proofs.py:
``approved_by`` makes the op privileged), so an op that reaches these checks with an
approver carries a proof that held, or one the server could not check yet (flagged).
Anything else is rejected, and so quarantined, with the reason in words.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.orm import Session

from app.domain import till_limits as rules
from app.domain.totals import Discount, DiscountError
from server.db.models import Staff, Store
from server.sync.common import Rejected
from sync.payloads import OrderCreate, RefundCreate


class Person(Protocol):
    """A staff member as the checks need them (a Staff row or bulk_run.StaffRow)."""

    @property
    def id(self) -> str: ...
    @property
    def org_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def active(self) -> bool: ...


def limits_of(session: Session, store_id: str) -> rules.TillLimits:
    """The store's limits (the defaults for a store that set none)."""
    store = session.get(Store, store_id)
    return rules.from_dict(store.till_limits if store is not None else None)


def _approver(session: Session, actor: Person, approver_id: str | None) -> Staff | None:
    if approver_id is None:
        return None
    approver = session.get(Staff, approver_id)
    if approver is None or approver.org_id != actor.org_id or not approver.active:
        raise Rejected(f"the approver {approver_id} is not an active staff member of this "
                       "organization")
    return approver


def sale_lines(p: OrderCreate) -> list[rules.SaleLine]:
    listed = {o.line_id: o.list_price for o in p.price_overrides}
    return [rules.SaleLine(li.name, li.unit_price, li.qty_milli, li.tax_rate_ppm,
                           Discount(li.discount_percent_ppm, li.discount_amount),
                           listed.get(li.id)) for li in p.lines]


def check_sale(session: Session, store_id: str, actor: Person, p: OrderCreate) -> None:
    """Reject a sale past its actor's till limits unless its approver's limits cover it."""
    limits = limits_of(session, store_id)
    lines = sale_lines(p)
    order_discount = Discount(p.order_discount_percent_ppm, p.order_discount_amount)
    try:
        over = rules.sale_breaches(limits, actor.role, lines, order_discount,
                                   inclusive=p.tax_inclusive)
    except DiscountError:
        return  # a discount no till computes: order_decision flags it invalid_discount
    if not over:
        return
    approver = _approver(session, actor, p.approved_by)
    if approver is None:
        raise Rejected(f"{actor.name}'s sale needs a manager's approval: {'; '.join(over)}")
    beyond = rules.sale_breaches(limits, approver.role, lines, order_discount,
                                 inclusive=p.tax_inclusive)
    if beyond:
        raise Rejected(f"{approver.name} may not approve this sale: {'; '.join(beyond)}")


def check_refund(session: Session, store_id: str, actor: Person, p: RefundCreate) -> None:
    """Reject a refund without a receipt unless its actor's or approver's limits allow one."""
    limits = limits_of(session, store_id)
    if rules.refund_breach(limits, actor.role, p.without_receipt) is None:
        return
    approver = _approver(session, actor, p.approved_by)
    if approver is None or approver.id == actor.id:
        raise Rejected(f"{actor.name}: {rules.refund_breach(limits, actor.role, True)}")
    why = rules.refund_breach(limits, approver.role, True)
    if why is not None:
        raise Rejected(f"{approver.name} may not approve this refund: {why}")


def may_breach(payload: dict[str, object]) -> bool:
    """Whether a sale's payload has anything a limit judges (a discount, a price
    override): the bulk writer parses the others no further for the limits."""
    if payload.get("order_discount_percent_ppm") or payload.get("order_discount_amount") \
            or payload.get("price_overrides"):
        return True
    lines = payload.get("lines")
    return isinstance(lines, list) and any(
        isinstance(li, dict) and (li.get("discount_percent_ppm") or li.get("discount_amount"))
        for li in lines)
