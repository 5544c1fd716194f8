"""Small dialogs the register opens: customer, discount, quick-add of an unknown barcode."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.domain.money import MoneyError, parse
from app.domain.totals import Discount, DiscountError, percent_to_ppm
from app.services.catalog_edit import NewProduct
from app.services.customers import CustomerDetails
from ui.widgets.common import heading

#: The tax rate a quick-added product starts with (the person can change it).
DEFAULT_TAX_PERCENT = "23"


class _FormDialog(QDialog):
    """A titled form with OK/Cancel and an inline error line."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(440)
        self.layout_ = QVBoxLayout(self)
        self.layout_.addWidget(heading(title, "dialogTitle"))
        self.form = QFormLayout()
        self.layout_.addLayout(self.form)
        self.error = QLabel("")
        self.error.setProperty("level", "error")
        self.error.setWordWrap(True)
        self.layout_.addWidget(self.error)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self._try_accept)
        self.buttons.rejected.connect(self.reject)
        self.layout_.addWidget(self.buttons)

    def _try_accept(self) -> None:
        try:
            self.validate()
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        self.accept()

    def validate(self) -> None:
        """Raise ValueError with a message for the person if the form is not right."""


class CustomerDialog(_FormDialog):
    """Optional customer capture: a name and/or a phone number."""

    def __init__(self, current: CustomerDetails | None, parent: QWidget | None = None) -> None:
        super().__init__("Customer", parent)
        self.name = QLineEdit(current.name if current else "")
        self.phone = QLineEdit(current.phone if current else "")
        self.phone.setPlaceholderText("+353 …")
        self.form.addRow("Name", self.name)
        self.form.addRow("Phone", self.phone)

    def details(self) -> CustomerDetails | None:
        name, phone = self.name.text().strip(), self.phone.text().strip()
        return CustomerDetails(None, name or None, phone or None) if (name or phone) else None


def parse_discount(text: str, currency: str) -> Discount:
    """ "10%" is a percentage, "2.50" an amount; empty removes the discount."""
    text = text.strip()
    if not text:
        return Discount()
    try:
        if text.endswith("%"):
            return Discount(percent_ppm=percent_to_ppm(text[:-1].strip()))
        return Discount(amount=parse(text, currency))
    except (MoneyError, DiscountError, InvalidOperation) as exc:
        raise ValueError(str(exc) or f"“{text}” is not a discount") from exc


class DiscountDialog(_FormDialog):
    """A line or order discount, typed as "10%" or as an amount."""

    def __init__(self, title: str, currency: str, parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self.currency = currency
        self.value = QLineEdit()
        self.value.setObjectName("discountValue")
        self.value.setPlaceholderText("10%  or  2.50")
        self.form.addRow("Discount", self.value)
        self.discount = Discount()

    def validate(self) -> None:
        if not self.value.text().strip():  # Enter on an empty field never passes as "no discount"
            raise ValueError("Type a discount (10% or 2.50), or press Esc")
        self.discount = parse_discount(self.value.text(), self.currency)


class QuickAddDialog(_FormDialog):
    """Offer to add an unknown barcode to the catalog: name, price, tax rate, SKU, category."""

    def __init__(self, code: str, currency: str, parent: QWidget | None = None,
                 tax_percent: str = DEFAULT_TAX_PERCENT) -> None:
        super().__init__("Add this product?", parent)
        self.setObjectName("quickAddDialog")
        self.currency = currency
        self.code = code
        self.form.addRow("Barcode", QLabel(code))
        self.name = QLineEdit()
        self.name.setObjectName("quickAddName")
        self.price = QLineEdit()
        self.price.setObjectName("quickAddPrice")
        self.price.setPlaceholderText("0.00")
        self.tax = QLineEdit(tax_percent)
        self.tax.setObjectName("quickAddTax")
        self.sku = QLineEdit(code)
        self.sku.setObjectName("quickAddSku")
        self.category = QLineEdit()
        self.category.setObjectName("quickAddCategory")
        self.category.setPlaceholderText("optional")
        self.form.addRow("Name", self.name)
        self.form.addRow("Price", self.price)
        self.form.addRow("Tax rate %", self.tax)
        self.form.addRow("SKU", self.sku)
        self.form.addRow("Category", self.category)
        self.amount = 0
        self.tax_rate_ppm = 0

    def validate(self) -> None:
        if not self.name.text().strip():
            raise ValueError("Give the product a name")
        try:
            self.amount = parse(self.price.text(), self.currency)
        except MoneyError as exc:
            raise ValueError(str(exc)) from exc
        if self.amount <= 0:
            raise ValueError("The price must be more than zero")
        try:
            self.tax_rate_ppm = percent_to_ppm(self.tax.text().strip().rstrip("%").strip())
        except (DiscountError, InvalidOperation, ValueError) as exc:
            raise ValueError(f"“{self.tax.text()}” is not a tax rate; type e.g. 23 or 13.5") from exc
        if not 0 <= self.tax_rate_ppm <= 1_000_000:
            raise ValueError("The tax rate must be between 0% and 100%")
        if not self.sku.text().strip():
            raise ValueError("Give the product a SKU (the barcode will do)")

    def new_product(self) -> NewProduct:
        """What to add, after validate() passed."""
        return NewProduct(self.sku.text().strip(), self.name.text().strip(), self.amount,
                          self.tax_rate_ppm, (self.code,), self.category.text().strip() or None)


def as_percent(ppm: int) -> str:
    return f"{Decimal(ppm) / 10_000:g}%"
