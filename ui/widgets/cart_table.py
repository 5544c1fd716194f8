"""The cart as a Qt table model: the register edits quantities in place."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal

from app.domain.cart import Cart, CartLine
from app.domain.totals import PPM

COLUMNS = ("Item", "Qty", "Price", "Discount", "Total")
QTY = 1
_Index = QModelIndex | QPersistentModelIndex


def format_qty(line: CartLine) -> str:
    if line.weighed and line.qty_milli % 1000:
        return f"{line.qty_milli / 1000:.3f} kg"
    if line.qty_milli % 1000:
        return f"{Decimal(line.qty_milli) / 1000:f}"
    return str(line.qty_milli // 1000)


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

    def __init__(self, cart: Cart, money) -> None:
        super().__init__()
        self.cart = cart
        self._money = money

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
            return self._money(line.unit_price)
        if column == 3:
            d = line.discount
            if d.percent_ppm:
                return f"−{Decimal(d.percent_ppm) * 100 / PPM:g}%"
            return f"−{self._money(d.amount)}" if d.amount else ""
        return self._money(self.cart.totals().lines[row].total)

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

    def add(self, line: CartLine) -> int:
        row = self.cart.add(line)
        self.refresh()
        return row

    def set_quantity(self, row: int, qty_milli: int) -> None:
        self.cart.set_quantity(row, qty_milli)
        self.refresh()

    def remove(self, row: int) -> None:
        self.cart.remove(row)
        self.refresh()
