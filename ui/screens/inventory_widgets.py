"""Pieces of the inventory screen: quantities as text, the count table model, a product picker."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QLabel, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from app.services import catalog
from app.services.inventory import CountedItem, CountSession
from ui.context import AppContext

MINUS = "\u2212"


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
    name: str
    sku: str
    by_weight: bool


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
            if index.column() != DIFF:
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
        return (info.name, info.sku, qty_text(item.expected_milli, info.by_weight),
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


class ProductPicker(QWidget):
    """Type a name or SKU (results drop down) or scan/type a code; emits ``picked(row)``.

    ``row`` is a ProductRow-like object with ``id``, ``name``, ``sku``.
    """

    picked = Signal(object)

    def __init__(self, ctx: AppContext, placeholder: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.current = None
        self._seq = 0
        self._timer = QTimer(self, singleShot=True, interval=150)
        self._timer.timeout.connect(self._search)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.field = QLineEdit()
        self.field.setObjectName("scanField")
        self.field.setPlaceholderText(placeholder)
        self.field.setClearButtonEnabled(True)
        self.field.textEdited.connect(lambda _t: self._timer.start())
        self.field.returnPressed.connect(self._entered)
        self.results = QListWidget()
        self.results.setObjectName("searchResults")
        self.results.hide()
        self.results.itemActivated.connect(self._choose)
        self.chosen = QLabel("")
        self.chosen.setProperty("role", "subtle")
        self.chosen.setWordWrap(True)
        for w in (self.field, self.results, self.chosen):
            layout.addWidget(w)
        self.field.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt API
        if (watched is self.field and event.type() == event.Type.KeyPress
                and event.key() == Qt.Key.Key_Down and self.results.count()):
            self.results.setFocus()
            self.results.setCurrentRow(0)
            return True
        return super().eventFilter(watched, event)

    def pick_code(self, code: str) -> None:
        """A scanned or typed code: find the product it belongs to."""
        self.ctx.ops.run(lambda: catalog.line_for_scan(self.ctx.store, code, include_inactive=True),
                         success=lambda line: self.set_product(PickedProduct(line.product_id, line.name, line.sku or "")))

    def set_product(self, row) -> None:
        self.current = row
        self._clear()
        self.chosen.setText(f"{row.name}  ·  {row.sku}")
        self.picked.emit(row)

    def reset(self) -> None:
        self.current = None
        self._clear()
        self.chosen.setText("")

    def _clear(self) -> None:
        self._seq += 1
        self._timer.stop()
        self.field.clear()
        self.results.clear()
        self.results.hide()

    def _entered(self) -> None:
        text = self.field.text().strip()
        if not text:
            return
        if text.isdigit() and len(text) >= 6:
            self.pick_code(text)
        elif self.results.count():
            self._choose(self.results.currentItem() or self.results.item(0))
        else:
            self._timer.stop()
            self._search(choose_first=True)

    def _search(self, choose_first: bool = False) -> None:
        text = self.field.text().strip()
        self._seq += 1
        seq = self._seq
        if len(text) < 2 or text.isdigit():
            self.results.hide()
            return
        self.ctx.ops.run(lambda: catalog.search(self.ctx.store, text, 20),
                         success=lambda rows: self._show(seq, rows, choose_first))

    def _show(self, seq: int, rows: list, choose_first: bool) -> None:
        if seq != self._seq:
            return
        self.results.clear()
        for row in rows:
            item = QListWidgetItem(f"{row.name}    ·    {row.sku}")
            item.setData(Qt.ItemDataRole.UserRole, row)
            self.results.addItem(item)
        self.results.setVisible(bool(rows))
        if not rows:
            self.ctx.info(f"Nothing matches “{self.field.text().strip()}”")
        elif choose_first:
            self._choose(self.results.item(0))

    def _choose(self, item: QListWidgetItem | None) -> None:
        if item is not None:
            self.set_product(item.data(Qt.ItemDataRole.UserRole))


@dataclass(frozen=True)
class PickedProduct:
    id: str
    name: str
    sku: str
