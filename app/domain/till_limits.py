"""Till limits by role: how far each role may go alone before a manager's PIN.

A store sets, per role, the largest line discount and the largest order discount (as
a share of what they come off), and which roles may override a price, refund without
a receipt, and open the drawer without a sale ("no sale"). Going past a limit is not
forbidden: a manager (someone whose own limits cover it) types their PIN and the
operation carries them as ``approved_by`` with their proof (app/domain/approval_proof.py).

One rule, two enforcers: the till asks for the PIN before writing, and the server
(server/sync/till_limits.py) rejects an operation over its actor's limit that carries
no approver whose limits cover it. The settings travel as a plain dict on the store
(``till_limits``); a missing or unreadable key falls back to the default.

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.domain.permissions import Role
from app.domain.totals import PPM, Discount, LineInput, compute

_SENIOR = (Role.OWNER, Role.ADMIN, Role.MANAGER)
DEFAULT_AUTO_OPEN = True


def _ppm_by_role(cashier: int) -> dict[Role, int]:
    return {Role.OWNER: PPM, Role.ADMIN: PPM, Role.MANAGER: PPM, Role.CASHIER: cashier,
            Role.STOCK: 0}


@dataclass(frozen=True)
class TillLimits:
    """A store's till limits. Shares are parts per million (100 % = 1,000,000)."""

    line_discount_ppm: Mapping[Role, int] = field(default_factory=lambda: _ppm_by_role(100_000))
    order_discount_ppm: Mapping[Role, int] = field(default_factory=lambda: _ppm_by_role(0))
    price_override: frozenset[Role] = frozenset(_SENIOR)
    refund_without_receipt: frozenset[Role] = frozenset(_SENIOR)
    no_sale: frozenset[Role] = frozenset((*_SENIOR, Role.CASHIER))
    #: selling with no open shift opens one with a zero float instead of refusing (on by
    #: default, so a shop that does not count floats sells as before; off: refuse and offer)
    auto_open_shift: bool = DEFAULT_AUTO_OPEN
    #: a count over or short by more than this (minor units) needs a reason and a manager
    over_short_threshold: int = 500

    def line_limit(self, role: Role | str) -> int:
        return self.line_discount_ppm.get(Role(role), 0)

    def order_limit(self, role: Role | str) -> int:
        return self.order_discount_ppm.get(Role(role), 0)

    def may_override_price(self, role: Role | str) -> bool:
        return Role(role) in self.price_override

    def may_refund_without_receipt(self, role: Role | str) -> bool:
        return Role(role) in self.refund_without_receipt

    def may_open_drawer(self, role: Role | str) -> bool:
        return Role(role) in self.no_sale


DEFAULT = TillLimits()


def _shares(raw: Any, default: Mapping[Role, int]) -> dict[Role, int]:
    out = dict(default)
    if isinstance(raw, dict):
        for role in Role:
            value = raw.get(role.value)
            if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= PPM:
                out[role] = value
    return out


def _roles(raw: Any, default: frozenset[Role]) -> frozenset[Role]:
    if not isinstance(raw, list):
        return default
    return frozenset(Role(r) for r in raw if r in {role.value for role in Role})


def from_dict(raw: Mapping[str, Any] | None) -> TillLimits:
    """The limits stored on a store (None or a bad value: the default for that key)."""
    data = dict(raw or {})
    threshold = data.get("over_short_threshold")
    return TillLimits(
        line_discount_ppm=_shares(data.get("line_discount_ppm"), DEFAULT.line_discount_ppm),
        order_discount_ppm=_shares(data.get("order_discount_ppm"), DEFAULT.order_discount_ppm),
        price_override=_roles(data.get("price_override"), DEFAULT.price_override),
        refund_without_receipt=_roles(data.get("refund_without_receipt"),
                                      DEFAULT.refund_without_receipt),
        no_sale=_roles(data.get("no_sale"), DEFAULT.no_sale),
        auto_open_shift=data["auto_open_shift"] if isinstance(data.get("auto_open_shift"), bool)
        else DEFAULT_AUTO_OPEN,
        over_short_threshold=threshold if isinstance(threshold, int)
        and not isinstance(threshold, bool) and threshold >= 0 else DEFAULT.over_short_threshold,
    )


def to_dict(limits: TillLimits) -> dict[str, Any]:
    """The plain form kept on the store and sent in its feed state."""
    return {
        "line_discount_ppm": {r.value: v for r, v in sorted(limits.line_discount_ppm.items())},
        "order_discount_ppm": {r.value: v for r, v in sorted(limits.order_discount_ppm.items())},
        "price_override": sorted(r.value for r in limits.price_override),
        "refund_without_receipt": sorted(r.value for r in limits.refund_without_receipt),
        "no_sale": sorted(r.value for r in limits.no_sale),
        "auto_open_shift": limits.auto_open_shift,
        "over_short_threshold": limits.over_short_threshold,
    }


# ------------------------------------------------------------------ a sale's discounts


@dataclass(frozen=True)
class SaleLine:
    """What the limits judge of one line."""

    name: str
    unit_price: int
    qty_milli: int
    tax_rate_ppm: int
    discount: Discount
    list_price: int | None = None  # the catalogue's price, when the price was overridden


def _over(part: int, whole: int, limit_ppm: int) -> bool:
    """Whether ``part`` is more than ``limit_ppm`` of ``whole`` (integers only)."""
    return part > 0 and part * PPM > limit_ppm * abs(whole)


def _percent(ppm: int) -> str:
    whole, rest = divmod(ppm, 10_000)
    return f"{whole} %" if not rest else f"{ppm / 10_000:.1f} %"


def _beyond(discount: Discount, off: int, base: int, limit_ppm: int) -> str | None:
    """The discount's share when it is past ``limit_ppm`` (None when within): a rate is
    judged as given (its rounding to cents never tips it over), an amount by its share."""
    if discount.percent_ppm:
        return _percent(discount.percent_ppm) if discount.percent_ppm > limit_ppm else None
    if not _over(off, base, limit_ppm):
        return None
    return _percent(round(off * PPM / abs(base))) if base else "100 %"


def sale_breaches(limits: TillLimits, role: Role | str, lines: Sequence[SaleLine],
                  order_discount: Discount, *, inclusive: bool) -> list[str]:
    """What a sale by ``role`` does beyond its limits, in words (empty: within them)."""
    r = Role(role)
    totals = compute([LineInput(li.unit_price, li.qty_milli, li.tax_rate_ppm, li.discount)
                      for li in lines], order_discount, inclusive=inclusive)
    found: list[str] = []
    for li, t in zip(lines, totals.lines, strict=True):
        share = _beyond(li.discount, t.line_discount, t.gross, limits.line_limit(r))
        if share is not None:
            found.append(f"a {share} discount on {li.name} is over a {r.value}'s "
                         f"{_percent(limits.line_limit(r))} line limit")
        if li.list_price is not None and li.list_price != li.unit_price \
                and not limits.may_override_price(r):
            found.append(f"the price of {li.name} was changed, which a {r.value} may not do "
                         f"alone")
    base = sum(t.gross - t.line_discount for t in totals.lines)
    order_off = sum(t.order_discount for t in totals.lines)
    share = _beyond(order_discount, order_off, base, limits.order_limit(r))
    if share is not None:
        found.append(f"a {share} discount on the whole sale is over a {r.value}'s "
                     f"{_percent(limits.order_limit(r))} order limit")
    return found


def refund_breach(limits: TillLimits, role: Role | str, without_receipt: bool) -> str | None:
    """Why ``role`` may not refund without a receipt alone; None when it may."""
    if without_receipt and not limits.may_refund_without_receipt(role):
        return f"a refund without a receipt is beyond a {Role(role).value}'s till limits"
    return None


def no_sale_breach(limits: TillLimits, role: Role | str) -> str | None:
    """Why ``role`` may not open the drawer without a sale alone; None when it may."""
    if not limits.may_open_drawer(role):
        return f"opening the drawer without a sale is beyond a {Role(role).value}'s till limits"
    return None
