"""The register's till limits: a manager's PIN when a discount or price goes past the
signed-in person's limits (app/services/till_limits.py), and the price override dialog.

The guard looks at the cart after each change. Within the person's limits, or within
those of a manager who already approved this sale, nothing is asked. Otherwise the
PIN override opens (ui/dialogs/pin_override.py, as refunds do); cancelling it, or a
PIN of someone whose own limits do not cover the sale, undoes the change. The manager
then rides with the sale (``approver``) and the sales service names them on it.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QLineEdit, QWidget

from app.domain.cart import Cart
from app.domain.money import MoneyError, parse
from app.domain.permissions import Action
from app.domain.till_limits import DEFAULT, TillLimits
from app.services import till_limits
from app.store.unit_of_work import Actor
from ui.context import AppContext
from ui.dialogs.pin_override import PinOverrideDialog
from ui.screens.register_dialogs import _FormDialog


class PriceDialog(_FormDialog):
    """Sell a line at another price than the catalogue's."""

    def __init__(self, name: str, price: str, currency: str, parent: QWidget | None = None) -> None:
        super().__init__(f"Price of {name}", parent)
        self.setObjectName("priceDialog")
        self.currency = currency
        self.value = QLineEdit(price)
        self.value.setObjectName("priceValue")
        self.value.selectAll()
        self.form.addRow("Price", self.value)
        self.price = 0

    def validate(self) -> None:
        try:
            self.price = parse(self.value.text(), self.currency)
        except MoneyError as exc:
            raise ValueError(str(exc)) from exc
        if self.price < 0:
            raise ValueError("A price cannot be negative")


class LimitGuard(QObject):
    """Asks for a manager's PIN when the cart goes past the person's till limits."""

    def __init__(self, ctx: AppContext, host: QWidget) -> None:
        super().__init__(host)
        self.ctx, self.host = ctx, host
        self.limits: TillLimits = DEFAULT
        self.approver: Actor | None = None
        self.override: PinOverrideDialog | None = None

    def reload(self) -> None:
        """Read the store's limits again (at sign-in: they come with the store's settings)."""
        self.limits = till_limits.limits(self.ctx.store)

    def reset(self) -> None:
        """A new sale: an approval never carries over to the next customer."""
        self.approver = None

    def breaches(self, cart: Cart) -> list[str]:
        actor = self.ctx.actor
        return till_limits.cart_breaches(self.limits, actor.role, cart) if actor else []

    def covered(self, cart: Cart) -> bool:
        """Within the person's limits, or within those of the manager who approved."""
        if not self.breaches(cart):
            return True
        return self.approver is not None and not till_limits.cart_breaches(
            self.limits, self.approver.role, cart)

    def check(self, cart: Cart, undo: Callable[[], None], done: Callable[[], None]) -> None:
        """After a change: nothing to ask, or the PIN; ``undo`` when refused, then ``done``."""
        if self.covered(cart):
            done()
            return
        what = "This sale goes past your till limits:\n" + ";\n".join(self.breaches(cart)) + "."
        dialog = PinOverrideDialog(self.ctx, Action.SALE_ORDER_DISCOUNT, what, self.host)
        dialog.setObjectName("limitOverrideDialog")
        self.override = dialog

        def finished(_result: int) -> None:
            approver = dialog.approver
            problem = None if approver is None else till_limits.cart_breaches(
                self.limits, approver.role, cart)
            if approver is None or problem:
                undo()
                if problem:
                    self.ctx.error(f"{approver.name if approver else ''} may not approve this: "
                                   + "; ".join(problem))
            else:
                self.approver = approver
                self.ctx.info(f"Approved by {approver.name}")
            self.override = None
            done()

        dialog.finished.connect(finished)
        dialog.open()
