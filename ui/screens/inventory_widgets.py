"""Pieces of the inventory screen's tabs: quantities as text, the count table model, the
product picker of the receive and adjust forms, and what a scan that finds nothing says."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QLabel, QWidget

from app.domain.barcode import BarcodeError
from app.domain.permissions import Action
from app.services import catalog
from app.services.catalog import ProductRow, UnknownBarcode
from app.services.changes import Changes
from app.services.inventory import CountedItem, CountSession
from ui import messages
from ui.context import AppContext
from ui.screens.catalog_dialogs import offer_quick_add
from ui.widgets.product_search import ProductSearch

MINUS = "\u2212"
#: What a count, a delivery or an adjustment changes: the screens listening refresh on it.
STOCK_CHANGES = Changes(stock=True, outbox=True)


def qty_text(milli: int, by_weight: bool = False, signed: bool = False) -> str:
    """12, 1.250 kg; with ``signed`` +3 / −2 (0 stays 0)."""
    sign = ""
    if signed and milli:
        sign = "+" if milli > 0 else MINUS
        milli = abs(milli)
    elif milli < 0:
        sign, milli = MINUS, -milli
    if by_weight:
        return f"{sign}{Decimal(milli) / 1000:.3f} kg"
    whole, part = divmod(milli, 1000)
    return f"{sign}{whole}" if not part else f"{sign}{Decimal(milli) / 1000:f}".rstrip("0")


def parse_qty(text: str, *, allow_negative: bool = False, allow_zero: bool = True) -> int:
    """"12", "1.25", "-2" as thousandths; raises ValueError with a message for the person."""
    cleaned = text.strip().replace(MINUS, "-").replace(",", ".").removesuffix("kg").strip()
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"“{text.strip()}” is not a quantity") from None
    milli = value * 1000
    if milli != milli.to_integral_value():
        raise ValueError("Quantities go to at most three decimals")
    if milli < 0 and not allow_negative:
        raise ValueError("The quantity cannot be negative")
    if milli == 0 and not allow_zero:
        raise ValueError("The quantity cannot be zero")
    if abs(milli) > 10**12:
        raise ValueError("That quantity is too large")
    return int(milli)


@dataclass(frozen=True)
class ProductInfo:
    """A counted product as the count table shows it; an inactive one (no longer sold,
    still on the shelf) is marked "(inactive)" and greyed, as the search results mark it."""

    name: str
    sku: str
    by_weight: bool
    active: bool = True


NAME, SKU, EXPECTED, COUNTED, DIFF = range(5)
_DISPLAY, _EDIT, _USER = (int(Qt.ItemDataRole.DisplayRole), int(Qt.ItemDataRole.EditRole),
                          int(Qt.ItemDataRole.UserRole))
_ALIGN, _FOREGROUND = int(Qt.ItemDataRole.TextAlignmentRole), int(Qt.ItemDataRole.ForegroundRole)
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_PLAIN = Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled
_EDITABLE = _PLAIN | Qt.ItemFlag.ItemIsEditable
HEADERS = ("Product", "SKU", "Expected", "Counted", "Difference")


class CountModel(QAbstractTableModel):
    """The rows of a count session, in the order products were first scanned."""

    def __init__(self, session: CountSession) -> None:
        super().__init__()
        self.session = session
        self.info: dict[str, ProductInfo] = {}
        self.order: list[str] = []
        self.row_of: dict[str, int] = {}
        self.only_differences = False
        self._texts: dict[str, tuple[str, ...]] = {}  # display texts per product, dropped on change
        self._green, self._red = QBrush(QColor("#1E7A4F")), QBrush(QColor("#B42318"))
        self._grey = QBrush(QColor("#5A6B75"))  # the stylesheet's subtle text

    # -- Qt API -------------------------------------------------------------
    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008 - Qt API
        return 0 if parent.isValid() else len(self.order)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008 - Qt API
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802 - Qt API
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        return None

    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        return _EDITABLE if index.column() == COUNTED else _PLAIN

    def data(self, index: QModelIndex, role: int = _DISPLAY):
        # Called for every role of every visible cell on each paint: plain int roles,
        # cached texts, no enum arithmetic (this is the scan-to-row hot path).
        if role == _DISPLAY:
            pid = self.order[index.row()]
            texts = self._texts.get(pid)
            if texts is None:
                texts = self._texts[pid] = self._row_texts(pid)
            return texts[index.column()]
        if role == _ALIGN:
            return _RIGHT if index.column() >= EXPECTED else None
        if role == _FOREGROUND:
            column = index.column()
            if column == NAME:
                return None if self.info[self.order[index.row()]].active else self._grey
            if column != DIFF:
                return None
            diff = self.session.items[self.order[index.row()]].difference
            return None if not diff else (self._green if diff > 0 else self._red)
        if role == _EDIT and index.column() == COUNTED:
            pid = self.order[index.row()]
            return qty_text(self.session.items[pid].counted_milli, self.info[pid].by_weight).removesuffix(" kg")
        if role == _USER:
            return self.order[index.row()]
        return None

    def _row_texts(self, pid: str) -> tuple[str, ...]:
        item, info = self.session.items[pid], self.info[pid]
        diff = qty_text(item.difference, info.by_weight, signed=True) if item.difference else "0"
        name = info.name if info.active else messages.inactive_product(info.name)
        return (name, info.sku, qty_text(item.expected_milli, info.by_weight),
                qty_text(item.counted_milli, info.by_weight), diff)

    def setData(self, index: QModelIndex, value, role: int = Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        if role != Qt.ItemDataRole.EditRole or index.column() != COUNTED:
            return False
        try:
            qty = parse_qty(str(value))
        except ValueError:
            return False
        self.set_count(self.order[index.row()], qty)
        return True

    # -- counting -----------------------------------------------------------
    def count(self, pid: str, info: ProductInfo, expected_milli: int, qty_milli: int) -> int:
        """Add ``qty_milli`` to the product's count (first scan: it joins the table); returns its row."""
        item = self.session.items.get(pid)
        if item is None:
            item = CountedItem(pid, expected_milli)
            self.session.items[pid] = item
            self.info[pid] = info
        item.counted_milli += qty_milli
        return self._show(pid)

    def set_count(self, pid: str, qty_milli: int) -> int:
        self.session.items[pid].counted_milli = qty_milli
        return self._show(pid)

    def _show(self, pid: str) -> int:
        self._texts.pop(pid, None)
        row = self.row_of.get(pid)
        if row is None:
            if self.only_differences and not self.session.items[pid].difference:
                return -1
            row = len(self.order)
            self.beginInsertRows(QModelIndex(), row, row)
            self.order.append(pid)
            self.row_of[pid] = row
            self.endInsertRows()
        else:
            self.dataChanged.emit(self.index(row, EXPECTED), self.index(row, DIFF))
        return row

    def set_only_differences(self, only: bool) -> None:
        self.only_differences = only
        self.rebuild()

    def rebuild(self) -> None:
        self.beginResetModel()
        self._texts.clear()
        self.order = [pid for pid, item in self.session.items.items()
                      if pid in self.info and (not self.only_differences or item.difference)]
        self.row_of = {pid: i for i, pid in enumerate(self.order)}
        self.endResetModel()

    def reset(self, session: CountSession) -> None:
        self.session = session
        self.info.clear()
        self.rebuild()

    def summary(self) -> tuple[int, int, int]:
        """(products counted, products that differ, units counted)."""
        items = self.session.items.values()
        return len(self.session.items), sum(1 for i in items if i.difference), sum(
            i.counted_milli for i in items)


def product_for_scan(store, code: str) -> ProductRow:
    """The product a scanned or typed code finds, inactive ones included (stock is still counted,
    received and adjusted for a product the till no longer sells)."""
    line = catalog.line_for_scan(store, code, include_inactive=True)
    row = catalog.get(store, line.product_id)
    if row is None:  # deleted between the two reads
        raise catalog.UnknownBarcode(code)
    return row


def explain_scan_failure(page: QWidget, exc: BaseException, retry) -> bool:
    """A scan that found no product: offer quick-add (to staff allowed to) or say why.

    ``page`` has ``ctx`` and keeps the quick-add form as ``page.dialog``; ``retry(product_id)``
    runs once the product is added. True when the failure was explained here.
    """
    ctx = page.ctx
    if isinstance(exc, UnknownBarcode):
        if ctx.can(Action.PRODUCT_QUICK_ADD):
            ctx.warn(f"No product has barcode {exc.code}: add it now")
            page.dialog = offer_quick_add(ctx, page, exc.code, retry)
        else:
            ctx.error(messages.unknown_barcode(exc.code, exc.case_hint))
        return True
    if isinstance(exc, BarcodeError):
        ctx.error(str(exc))
        return True
    return False


class ProductPicker(ProductSearch):
    """The product a receive or adjust form is about: scanned, typed as a code, or chosen
    by name or SKU from the search results (inactive products too, marked so); shown
    under the field, and ``picked(row)`` (a ProductRow). A code typed in the field is
    ``code_entered``: the screen looks it up as it does a scan, then ``set_product``.
    """

    picked = Signal(object)

    def __init__(self, ctx: AppContext, placeholder: str, parent: QWidget | None = None) -> None:
        super().__init__(ctx, placeholder, include_inactive=True, parent=parent)
        self.current: ProductRow | None = None
        self.chosen = QLabel("")
        self.chosen.setProperty("role", "subtle")
        self.chosen.setWordWrap(True)
        self.layout().addWidget(self.chosen)
        self.product_chosen.connect(self.set_product)

    def set_product(self, row: ProductRow) -> None:
        self.current = row
        self.clear()
        name = row.name if row.active else messages.inactive_product(row.name)
        self.chosen.setText(f"{name}  ·  {row.sku}")
        self.picked.emit(row)

    def reset(self) -> None:
        self.current = None
        self.clear()
        self.chosen.setText("")
