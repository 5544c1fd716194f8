"""The cart as a Qt table model: the register edits quantities in place.

A scan changes one row, so the model says so (rows inserted, one row's cells
changed, one row removed) instead of resetting: a reset makes the view forget its
rows and re-measure every cell of every row, and it did so on every scan (issue 17).
The cart's totals are computed once per change of the cart, not once per cell
painted. ``changed`` is emitted after every change, whatever its kind.

A change that fills an empty cart or empties it is still a reset, so a listener of
``modelReset`` (the F10 key's words in ui/screens/parked.py, the exchange's cart)
hears whenever the cart becomes or stops being empty; ``incremental=False`` resets
on every change, as before.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QHeaderView, QTableView

from app.domain.barcode import BarcodeError, parse_variable
from app.domain.cart import Cart, CartLine
from app.domain.totals import PPM, OrderTotals
from ui import messages

COLUMNS = ("Item", "Qty", "Price", "Discount", "Total")
QTY = 1
GRID_AND_ROOM_PX = 4
_Index = QModelIndex | QPersistentModelIndex


def format_qty(line: CartLine) -> str:
    if line.weighed and line.qty_milli % 1000:
        return f"{line.qty_milli / 1000:.3f} kg"
    if line.qty_milli % 1000:
        return f"{Decimal(line.qty_milli) / 1000:f}"
    return str(line.qty_milli // 1000)


def priced_per_kg(line: CartLine) -> bool:
    """A weighed line's price is per kilogram, except a price-embedded label's (its one
    unit is at the printed price)."""
    if not line.weighed:
        return False
    code = line.barcode or ""
    try:  # a 12-digit UPC-A is read as its EAN-13, as the scan was (catalog.line_for_scan)
        variable = parse_variable("0" + code if len(code) == 12 else code)
    except BarcodeError:
        variable = None
    return variable is None or variable.grams is not None


def parse_qty(text: str) -> int:
    """A typed quantity ("2", "0.450") in thousandths; ValueError if it is not one."""
    try:
        value = Decimal(text.strip().replace(",", ".").removesuffix("kg").strip())
    except InvalidOperation:
        raise ValueError(f"“{text}” is not a quantity") from None
    milli = int(value * 1000)
    if milli < 0 or milli > 10_000_000:
        raise ValueError(f"“{text}” is not a sensible quantity")
    return milli


class CartModel(QAbstractTableModel):
    """Rows are cart lines; only the quantity column is editable.

    ``refused(text)`` says why a typed quantity was not taken (never silently dropped)."""

    refused = Signal(str)
    changed = Signal()

    def __init__(self, cart: Cart, money, *, incremental: bool = False) -> None:  # noqa: ANN001
        super().__init__()
        self.cart = cart
        self._money = money
        self._incremental = incremental
        self.name_font: QFont | None = None  # the names' font, when not the table's
        self._totals: OrderTotals | None = None
        self._totals_of: tuple[list[CartLine], object] = ([], None)

    def totals(self) -> OrderTotals:
        """The cart's totals, computed again only when its lines or discount changed (the
        lines are frozen: a changed line is a new object)."""
        lines, discount = self._totals_of
        cart_lines = self.cart.lines
        if (self._totals is None or discount is not self.cart.order_discount or len(lines) != len(cart_lines)
                or any(a is not b for a, b in zip(lines, cart_lines, strict=True))):
            self._totals = self.cart.totals()
            self._totals_of = (list(cart_lines), self.cart.order_discount)
        return self._totals

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.cart.lines)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802, B008
        return len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        base = super().flags(index)
        return base | Qt.ItemFlag.ItemIsEditable if index.column() == QTY else base

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        line = self.cart.lines[index.row()]
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() > 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if index.column() == 0 and role == Qt.ItemDataRole.ToolTipRole:
            return line.name  # the whole name where the row cuts it
        if index.column() == 0 and role == Qt.ItemDataRole.FontRole:
            return self.name_font
        if role == Qt.ItemDataRole.EditRole and index.column() == QTY:
            return format_qty(line).removesuffix(" kg")
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        return self._cell(index.row(), index.column(), line)

    def _cell(self, row: int, column: int, line: CartLine) -> str:
        if column == 0:
            return line.name
        if column == QTY:
            return format_qty(line)
        if column == 2:
            return messages.unit_price(self._money(line.unit_price), priced_per_kg(line))
        if column == 3:
            d = line.discount
            if d.percent_ppm:
                return f"−{Decimal(d.percent_ppm) * 100 / PPM:g}%"
            return f"−{self._money(d.amount)}" if d.amount else ""
        return self._money(self.totals().lines[row].total)

    def setData(self, index: _Index, value, role: int = Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        if index.column() != QTY or role != Qt.ItemDataRole.EditRole:
            return False
        try:
            qty = parse_qty(str(value))
            self.set_quantity(index.row(), qty)
        except ValueError as exc:
            self.refused.emit(f"{exc}. The quantity stays {format_qty(self.cart.lines[index.row()])}.")
            return False
        return True

    def refresh(self) -> None:
        self.beginResetModel()
        self.endResetModel()
        self.changed.emit()

    def add(self, line: CartLine) -> int:
        before = len(self.cart.lines)
        if not self._incremental or before == 0:
            row = self.cart.add(line)
            self.refresh()
            return row
        row = self.cart.add(line)
        if len(self.cart.lines) > before:  # a new line, appended (merging is the cart's rule)
            added = self.cart.lines.pop()  # the view hears of it before it is there, as Qt asks
            self.beginInsertRows(QModelIndex(), row, row)
            self.cart.lines.append(added)
            self.endInsertRows()
        if not self.cart.order_discount.is_zero:  # spread over every line: each total may move
            self._totals_changed(0, before - 1)
        elif row < before:  # a repeat scan merged into its line
            self._totals_changed(row, row)
        self.changed.emit()
        return row

    def set_quantity(self, row: int, qty_milli: int) -> None:
        if qty_milli <= 0:  # a quantity of nothing takes the line away
            self.remove(row)
            return
        self.cart.set_quantity(row, qty_milli)
        if not self._incremental:
            self.refresh()
            return
        if self.cart.order_discount.is_zero:
            self._totals_changed(row, row)
        else:
            self._totals_changed(0, len(self.cart.lines) - 1)
        self.changed.emit()

    def remove(self, row: int) -> None:
        if not self._incremental or len(self.cart.lines) <= 1:
            self.cart.remove(row)
            self.refresh()
            return
        self.beginRemoveRows(QModelIndex(), row, row)
        self.cart.remove(row)
        self.endRemoveRows()
        if not self.cart.order_discount.is_zero:
            self._totals_changed(0, len(self.cart.lines) - 1)
        self.changed.emit()

    def _totals_changed(self, first: int, last: int) -> None:
        """Rows ``first``..``last`` may show new amounts (an order discount spreads over
        every line, so a change to one line can change another's total)."""
        if last >= first:
            self.dataChanged.emit(self.index(first, 0), self.index(last, len(COLUMNS) - 1),
                                  [Qt.ItemDataRole.DisplayRole])


def fit_columns(view: QTableView, first: int, last: int, *, shrink: bool = False) -> None:
    """Size the amount columns (every column after the name) to their header and the cells
    of rows ``first``..``last``: a scan measures its own row, where resize-to-contents
    measured every row of every column after each change. Columns only widen unless
    ``shrink`` (after a reset, with every row given)."""
    model, header = view.model(), view.horizontalHeader()
    for col in range(1, model.columnCount()):
        if view.isColumnHidden(col):
            continue
        need = header.sectionSizeHint(col)
        for r in range(max(first, 0), min(last, model.rowCount() - 1) + 1):
            # + the grid line, as resize-to-contents adds, and a little room
            need = max(need, view.sizeHintForIndex(model.index(r, col)).width() + GRID_AND_ROOM_PX)
        if need > header.sectionSize(col) or (shrink and need != header.sectionSize(col)):
            header.resizeSection(col, need)


def amount_columns_fixed(view: QTableView) -> None:
    """The amount columns keep the width :func:`fit_columns` gives them."""
    header = view.horizontalHeader()
    for col in range(1, view.model().columnCount()):
        header.setSectionResizeMode(col, QHeaderView.ResizeMode.Fixed)
    fit_columns(view, 0, -1, shrink=True)
