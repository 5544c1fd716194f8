"""Order totals: line amounts, discounts and tax, in integer minor units.

The rounding rule, written once (docs/architecture.md repeats it):

1. A line's gross is ``unit_price x quantity``; quantities are in thousandths
   (``qty_milli``: 1000 = one piece, 532 = 0.532 kg), rounded to the minor unit.
2. A line discount (percent or amount) is taken off the line gross, rounded once.
3. An order discount (percent or amount) is spread over the lines in proportion
   to their discounted amounts by largest remainder, so the parts add up exactly.
4. Tax is computed per line on the line's net amount and rounded per line:
   exclusive ``tax = net x rate``; inclusive ``tax = net x rate / (1 + rate)``.
   The tax breakdown per rate is the sum of the line taxes.
5. Every rounding is half away from zero (:func:`app.domain.money.div_round`).

Rates and percentages are integers in parts per million (20% = 200_000).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from app.domain.money import allocate, div_round

PPM = 1_000_000
MILLI = 1000


class DiscountError(ValueError):
    """A discount that cannot be applied (negative, over 100%, more than the amount)."""


@dataclass(frozen=True)
class Discount:
    """A discount given either as a rate (ppm) or as a fixed amount (minor units)."""

    percent_ppm: int = 0
    amount: int = 0

    def __post_init__(self) -> None:
        if self.percent_ppm and self.amount:
            raise DiscountError("A discount is a percentage or an amount, not both")
        if self.percent_ppm < 0 or self.amount < 0:
            raise DiscountError("A discount cannot be negative")
        if self.percent_ppm > PPM:
            raise DiscountError("A discount cannot be over 100%")

    def off(self, gross: int) -> int:
        """How much this discount takes off ``gross``."""
        if self.percent_ppm:
            return div_round(gross * self.percent_ppm, PPM)
        if self.amount > abs(gross):
            raise DiscountError("The discount is larger than the amount")
        return self.amount if gross >= 0 else -self.amount

    @property
    def is_zero(self) -> bool:
        return not self.percent_ppm and not self.amount


NO_DISCOUNT = Discount()


@dataclass(frozen=True)
class LineInput:
    unit_price: int
    qty_milli: int
    tax_rate_ppm: int
    discount: Discount = NO_DISCOUNT


@dataclass(frozen=True)
class LineTotals:
    gross: int
    line_discount: int
    order_discount: int
    net: int  # what the customer pays for this line, before exclusive tax
    tax: int
    total: int  # net + tax when exclusive, net when inclusive


@dataclass(frozen=True)
class OrderTotals:
    lines: tuple[LineTotals, ...]
    subtotal: int  # sum of gross
    discount: int  # line + order discounts
    tax: int
    total: int
    tax_by_rate: dict[int, int] = field(default_factory=dict)
    net_by_rate: dict[int, int] = field(default_factory=dict)


def line_gross(unit_price: int, qty_milli: int) -> int:
    return div_round(unit_price * qty_milli, MILLI)


def tax_of(net: int, rate_ppm: int, inclusive: bool) -> int:
    """Tax contained in (inclusive) or added to (exclusive) a net line amount."""
    if inclusive:
        return div_round(net * rate_ppm, PPM + rate_ppm)
    return div_round(net * rate_ppm, PPM)


def compute(
    lines: Sequence[LineInput], order_discount: Discount = NO_DISCOUNT, *, inclusive: bool
) -> OrderTotals:
    """Totals of an order under the store's tax mode, by the rule in the module doc."""
    gross = [line_gross(li.unit_price, li.qty_milli) for li in lines]
    line_disc = [li.discount.off(g) for li, g in zip(lines, gross, strict=True)]
    after_line = [g - d for g, d in zip(gross, line_disc, strict=True)]
    base = sum(after_line)
    if order_discount.percent_ppm:
        order_off = div_round(base * order_discount.percent_ppm, PPM)
    elif order_discount.amount:
        if order_discount.amount > abs(base):
            raise DiscountError("The order discount is larger than the order")
        order_off = order_discount.amount
    else:
        order_off = 0
    spread = allocate(order_off, [abs(a) for a in after_line]) if lines else []
    result: list[LineTotals] = []
    tax_by_rate: dict[int, int] = {}
    net_by_rate: dict[int, int] = {}
    for li, g, ld, od, a in zip(lines, gross, line_disc, spread, after_line, strict=True):
        net = a - od
        tax = tax_of(net, li.tax_rate_ppm, inclusive)
        total = net if inclusive else net + tax
        result.append(LineTotals(g, ld, od, net, tax, total))
        tax_by_rate[li.tax_rate_ppm] = tax_by_rate.get(li.tax_rate_ppm, 0) + tax
        net_by_rate[li.tax_rate_ppm] = net_by_rate.get(li.tax_rate_ppm, 0) + net
    return OrderTotals(
        lines=tuple(result),
        subtotal=sum(gross),
        discount=sum(line_disc) + order_off,
        tax=sum(r.tax for r in result),
        total=sum(r.total for r in result),
        tax_by_rate=tax_by_rate,
        net_by_rate=net_by_rate,
    )


def percent_to_ppm(percent: str | float | int) -> int:
    """"12.5" -> 125_000. Accepts text typed by a person."""
    from decimal import Decimal, InvalidOperation

    try:
        value = Decimal(str(percent).strip().rstrip("%"))
    except InvalidOperation as exc:
        raise DiscountError(f"“{percent}” is not a percentage") from exc
    return int((value * 10_000).to_integral_value())
