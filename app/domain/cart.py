"""The sale being rung up: lines with a snapshot of price and tax, before it is recorded.

Pure state, no storage: the register screen edits a Cart and the sales service
records it. Scanning the same product again adds to its line (not for weighed
items, whose every scan is its own line).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from app.domain.ids import new_id
from app.domain.totals import NO_DISCOUNT, Discount, LineInput, OrderTotals, compute


@dataclass(frozen=True)
class CartLine:
    product_id: str | None
    sku: str | None
    name: str
    unit_price: int
    tax_rate_ppm: int
    qty_milli: int = 1000
    barcode: str | None = None
    discount: Discount = NO_DISCOUNT
    weighed: bool = False
    id: str = field(default_factory=new_id)
    #: the catalogue's price when the price was overridden (a till limit)
    list_price: int | None = None

    def as_input(self) -> LineInput:
        return LineInput(self.unit_price, self.qty_milli, self.tax_rate_ppm, self.discount)


@dataclass
class Cart:
    tax_inclusive: bool
    lines: list[CartLine] = field(default_factory=list)
    order_discount: Discount = NO_DISCOUNT

    def add(self, line: CartLine) -> int:
        """Add a line (merging repeat scans of a counted product); returns the row index."""
        if not line.weighed and line.product_id is not None:
            for i, existing in enumerate(self.lines):
                if (
                    existing.product_id == line.product_id
                    and not existing.weighed
                    and existing.unit_price == line.unit_price
                    and existing.discount == line.discount
                ):
                    self.lines[i] = replace(existing, qty_milli=existing.qty_milli + line.qty_milli)
                    return i
        self.lines.append(line)
        return len(self.lines) - 1

    def set_quantity(self, index: int, qty_milli: int) -> None:
        if qty_milli <= 0:
            self.remove(index)
        else:
            self.lines[index] = replace(self.lines[index], qty_milli=qty_milli)

    def set_line_discount(self, index: int, discount: Discount) -> None:
        previous = self.lines[index]
        self.lines[index] = replace(previous, discount=discount)
        try:
            self.totals()  # raises DiscountError now rather than at tender time
        except ValueError:
            self.lines[index] = previous  # a refused discount leaves the cart as it was
            raise

    def set_order_discount(self, discount: Discount) -> None:
        previous, self.order_discount = self.order_discount, discount
        try:
            self.totals()
        except ValueError:
            self.order_discount = previous
            raise

    def set_price(self, index: int, unit_price: int) -> None:
        """Sell the line at another price; the catalogue's is kept as ``list_price``."""
        if unit_price < 0:
            raise ValueError("A price cannot be negative")
        previous = self.lines[index]
        listed = previous.unit_price if previous.list_price is None else previous.list_price
        self.lines[index] = replace(previous, unit_price=unit_price,
                                    list_price=None if unit_price == listed else listed)

    def remove(self, index: int) -> None:
        del self.lines[index]

    def clear(self) -> None:
        self.lines.clear()
        self.order_discount = NO_DISCOUNT

    def totals(self) -> OrderTotals:
        return compute([li.as_input() for li in self.lines], self.order_discount, inclusive=self.tax_inclusive)

    @property
    def is_empty(self) -> bool:
        return not self.lines
