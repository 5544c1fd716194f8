"""Till limits by role on the paths a till's push does not take (issue 14 item 6).

A till's sale and refund are judged in server/sync/till_limits.py, where an approver
with a proof may cover what goes past the actor's limits. The back office (REST, a
staff token) and an order's edits on any path are judged here, by the same rules
(app/domain/till_limits.py ``sale_breaches`` and ``refund_breach`` decide) with the
role of the person doing it: a manager or an owner has their own, higher limits and is
their own approver; someone past their limits is refused with :class:`AboveLimit`
(a push: rejected in words; the back office: ``403 above_limit`` naming the limit, what
it allows and what was asked).

The back office is online: a line of a catalogue product sold at another price than
the catalogue's current one is a price override whether or not the body lists it in
``price_overrides`` (a till's stale catalogue is the only reason a push's changed price
is a flag rather than an override). An edit is judged on what it changes: what the
order already went past its limits with (approved when it was made) is left alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain import till_limits as rules
from app.domain.totals import PPM, Discount, DiscountError, LineInput, compute
from server.db.models import Product
from server.sync.common import Rejected
from server.sync.order_decision import ProductFacts
from server.sync.till_limits import Person, limits_of
from sync.payloads import OrderCreate, OrderLineData


class AboveLimit(Rejected):
    """Past the person's till limits: ``details`` says which limit, what it allows and
    what was asked (the back office's ``403 above_limit``)."""

    def __init__(self, reason: str, details: dict[str, Any]) -> None:
        super().__init__(reason)
        self.details = details


# ------------------------------------------------------------------ what was asked


def _share(discount: Discount, off: int, base: int) -> int:
    """The share (ppm) a discount takes: a rate as given, an amount by its share."""
    if discount.percent_ppm:
        return discount.percent_ppm
    if off <= 0:
        return 0
    return round(off * PPM / abs(base)) if base else PPM


def _excess(limits: rules.TillLimits, role: str, ids: Sequence[str],
            lines: Sequence[rules.SaleLine], order_discount: Discount, *,
            inclusive: bool) -> list[dict[str, Any]]:
    """Each limit the sale goes past, with what it allows and what was asked (for the
    error's details: the decision itself is ``rules.sale_breaches``)."""
    totals = compute([LineInput(li.unit_price, li.qty_milli, li.tax_rate_ppm, li.discount)
                      for li in lines], order_discount, inclusive=inclusive)
    out: list[dict[str, Any]] = []
    for line_id, li, t in zip(ids, lines, totals.lines, strict=True):
        allowed = limits.line_limit(role)
        asked = _share(li.discount, t.line_discount, t.gross)
        if asked > allowed:
            out.append({"limit": "line_discount_ppm", "line_id": line_id, "name": li.name,
                        "allowed": allowed, "asked": asked})
        if li.list_price is not None and li.list_price != li.unit_price \
                and not limits.may_override_price(role):
            out.append({"limit": "price_override", "line_id": line_id, "name": li.name,
                        "allowed": False, "asked": li.unit_price,
                        "list_price": li.list_price})
    base = sum(t.gross - t.line_discount for t in totals.lines)
    asked = _share(order_discount, sum(t.order_discount for t in totals.lines), base)
    if asked > limits.order_limit(role):
        out.append({"limit": "order_discount_ppm", "line_id": None, "name": None,
                    "allowed": limits.order_limit(role), "asked": asked})
    return out


def _refused(actor: Person, what: str, reasons: list[str],
             found: list[dict[str, Any]]) -> AboveLimit:
    first = found[0] if found else {"limit": None, "allowed": None, "asked": None}
    return AboveLimit(
        f"{actor.name}'s {what} is beyond a {actor.role}'s till limits: {'; '.join(reasons)}",
        {"role": actor.role, "limit": first["limit"], "allowed": first["allowed"],
         "asked": first["asked"], "breaches": found, "reasons": reasons})


# ------------------------------------------------------------------ sales


def _catalogue_price(li: OrderLineData, org_id: str,
                     products: Mapping[str, ProductFacts]) -> int | None:
    """The catalogue's price a line replaced (None: the catalogue's own, or no product
    of the organization to compare with; a negative price is a return, never judged)."""
    product = products.get(li.product_id) if li.product_id else None
    if product is None or product.org_id != org_id or li.unit_price < 0:
        return None
    return product.price if product.price != li.unit_price else None


def _lines(lines: Sequence[OrderLineData], listed: Mapping[str, int | None]
           ) -> list[rules.SaleLine]:
    return [rules.SaleLine(li.name, li.unit_price, li.qty_milli, li.tax_rate_ppm,
                           Discount(li.discount_percent_ppm, li.discount_amount),
                           listed.get(li.id)) for li in lines]


def check_staff_sale(session: Session, store_id: str, actor: Person, p: OrderCreate,
                     products: Mapping[str, ProductFacts]) -> None:
    """A back-office order, judged by the signed-in person's own limits. ``approved_by``
    may only name them: another person approves by signing in themselves."""
    if p.approved_by is not None and p.approved_by != actor.id:
        raise Rejected("in the back office the signed-in person is the approver: "
                       "approved_by must be empty or their own id")
    listed: dict[str, int | None] = {o.line_id: o.list_price for o in p.price_overrides}
    for li in p.lines:
        if li.id not in listed:
            listed[li.id] = _catalogue_price(li, actor.org_id, products)
    lines = _lines(p.lines, listed)
    order_discount = Discount(p.order_discount_percent_ppm, p.order_discount_amount)
    limits = limits_of(session, store_id)
    try:
        reasons = rules.sale_breaches(limits, actor.role, lines, order_discount,
                                      inclusive=p.tax_inclusive)
    except DiscountError:
        return  # flagged invalid_discount by the decision, as a push's
    if reasons:
        raise _refused(actor, "order", reasons,
                       _excess(limits, actor.role, [li.id for li in p.lines], lines,
                               order_discount, inclusive=p.tax_inclusive))


def _products(session: Session, lines: Sequence[OrderLineData]) -> dict[str, Product]:
    ids = {li.product_id for li in lines if li.product_id}
    if not ids:
        return {}
    return {pr.id: pr for pr in session.scalars(select(Product).where(Product.id.in_(ids)))}


def check_edit(session: Session, store_id: str, actor: Person, *, inclusive: bool,
               before: Sequence[OrderLineData], before_discount: Discount,
               after: Sequence[OrderLineData], after_discount: Discount) -> None:
    """An edit of an order's lines or discounts (order.update from a till or the back
    office, a conflict resolved), judged by its actor's limits: only what goes past
    them anew counts (a discount or price the order already had was approved then)."""
    products = _products(session, [*before, *after])

    def listed(lines: Sequence[OrderLineData]) -> dict[str, int | None]:
        return {li.id: _catalogue_price(li, actor.org_id, products) for li in lines}

    limits = limits_of(session, store_id)
    old, new = _lines(before, listed(before)), _lines(after, listed(after))
    try:
        was = set(rules.sale_breaches(limits, actor.role, old, before_discount,
                                      inclusive=inclusive))
        old_found = _excess(limits, actor.role, [li.id for li in before], old,
                            before_discount, inclusive=inclusive)
    except DiscountError:  # an order stored before its discount rules: nothing forgiven
        was, old_found = set(), []
    try:
        reasons = [r for r in rules.sale_breaches(limits, actor.role, new, after_discount,
                                                  inclusive=inclusive) if r not in was]
    except DiscountError:
        return  # the edit's own check refuses it in words
    if not reasons:
        return
    found = _excess(limits, actor.role, [li.id for li in after], new, after_discount,
                    inclusive=inclusive)
    fresh = [f for f in found if f not in old_found] or found
    raise _refused(actor, "edit", reasons, fresh)


# ------------------------------------------------------------------ refunds


def check_staff_refund(session: Session, store_id: str, actor: Person,
                       without_receipt: bool, *, what: str = "refund") -> None:
    """A refund (or a request for one) without a receipt by the signed-in person: their
    own limits say whether they may."""
    limits = limits_of(session, store_id)
    reason = rules.refund_breach(limits, actor.role, without_receipt)
    if reason is not None:
        raise _refused(actor, what, [reason], [{
            "limit": "refund_without_receipt", "line_id": None, "name": None,
            "allowed": False, "asked": True}])
