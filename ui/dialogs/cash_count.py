"""Counting a drawer: the opening float and the close's count, and cash in or out.

:class:`CashCountDialog` takes a total, or note by note and coin by coin (the store
currency's denominations, app/domain/denominations.py); a count typed by piece wins
over the total. At a close it shows the cash expected, the count and the over/short as
they are typed, asks for a reason when the over/short is beyond the store's threshold,
and takes the card terminal's batch total. :class:`CashMoveDialog` is a pay-in, a
pay-out or a drop: an amount and a reason.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QIntValidator
from PySide6.QtWidgets import QFormLayout, QGridLayout, QLabel, QLineEdit, QWidget

from app.domain.denominations import denominations
from app.domain.money import MoneyError, format_money, parse
from app.domain.shift_rules import needs_approval
from ui.screens.register_dialogs import _FormDialog

#: what each cash movement's dialog says (title, reason's placeholder)
MOVE_WORDS = {
    "pay_in": ("Pay in", "Why: change from the bank, a float top-up…"),
    "pay_out": ("Pay out", "Why: window cleaner, milk, a delivery…"),
    "drop": ("Cash drop to the safe", "optional"),
}

PIECE_COLUMNS, COUNT_WIDTH = 3, 620


def _money_or_none(text: str, currency: str) -> int | None:
    """The amount typed, None when empty; ValueError in words when it is not money."""
    text = text.strip()
    if not text:
        return None
    try:
        return parse(text, currency)
    except MoneyError as exc:
        raise ValueError(str(exc)) from exc


class CashCountDialog(_FormDialog):
    """A drawer counted: ``counted`` (total) and ``by_denomination`` after OK.

    ``expected`` None: an opening float. Otherwise a close: expected, counted and
    over/short are shown live, with ``threshold`` deciding when a reason is needed."""

    def __init__(self, title: str, currency: str, locale: str, parent: QWidget | None = None, *,
                 expected: int | None = None, threshold: int = 0, waiting: str = "") -> None:
        super().__init__(title, parent)
        self.setObjectName("cashCountDialog")
        self.setMinimumWidth(COUNT_WIDTH)  # the reason's and batch's hints read whole
        self.currency, self.locale = currency, locale
        self.expected, self.threshold = expected, threshold
        self.total = QLineEdit()
        self.total.setObjectName("countTotal")
        self.total.setPlaceholderText("Total, or count the notes and coins below")
        self.total.textChanged.connect(self._update)
        self.form.addRow("Total", self.total)
        self.pieces: dict[int, QLineEdit] = {}
        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        values = denominations(currency)
        rows = -(-len(values) // PIECE_COLUMNS)  # three columns: the close fits a 768-pixel till
        for i, value in enumerate(values):
            field = QLineEdit()
            field.setObjectName(f"count_{value}")
            field.setValidator(QIntValidator(0, 1_000_000, field))
            field.setPlaceholderText("0")
            field.setMaximumWidth(80)
            field.textChanged.connect(self._update)
            label = QLabel(f"{self.money(value)} ×")
            label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            grid.addWidget(label, i % rows, (i // rows) * 2)
            grid.addWidget(field, i % rows, (i // rows) * 2 + 1)
            self.pieces[value] = field
        self.summary = QLabel("")
        self.summary.setObjectName("countSummary")
        self.summary.setWordWrap(True)
        self.reason = QLineEdit()
        self.reason.setObjectName("countReason")
        self.card_batch = QLineEdit()
        self.card_batch.setObjectName("cardBatch")
        extra = QFormLayout()
        if expected is not None:
            self.reason.setPlaceholderText("Why the drawer is over or short")
            self.card_batch.setPlaceholderText("optional: the card terminal's batch total")
            extra.addRow("Reason", self.reason)
            extra.addRow("Card batch total", self.card_batch)
        note = QLabel(waiting)
        note.setObjectName("countWaiting")
        note.setWordWrap(True)
        note.setVisible(bool(waiting))
        for pos, item in enumerate((QLabel("Notes and coins"), grid, self.summary, extra, note),
                                   start=2):  # after the title and the total, before the error
            if isinstance(item, QWidget):
                self.layout_.insertWidget(pos, item)
            else:
                self.layout_.insertLayout(pos, item)
        self.counted = 0
        self.by_denomination: dict[int, int] | None = None
        self.card_batch_total: int | None = None
        self._update()
        self.total.setFocus()

    def money(self, minor: int) -> str:
        return format_money(minor, self.currency, self.locale)

    def _by_piece(self) -> dict[int, int] | None:
        counts = {v: int(f.text()) for v, f in self.pieces.items() if f.text().strip()}
        return counts or None

    def _count(self) -> tuple[int, dict[int, int] | None]:
        pieces = self._by_piece()
        if pieces is not None:
            return sum(v * n for v, n in pieces.items()), pieces
        return _money_or_none(self.total.text(), self.currency) or 0, None

    @property
    def over_short(self) -> int | None:
        try:
            counted, _ = self._count()
        except ValueError:
            return None
        return None if self.expected is None else counted - self.expected

    @property
    def needs_approval(self) -> bool:
        over = self.over_short
        return over is not None and needs_approval(over, self.threshold)

    def _update(self) -> None:
        try:
            counted, pieces = self._count()
        except ValueError as exc:
            self.summary.setText(str(exc))
            return
        if pieces is not None:
            self.total.blockSignals(True)
            self.total.setText("")
            self.total.setPlaceholderText(f"Counted by piece: {self.money(counted)}")
            self.total.blockSignals(False)
        if self.expected is None:
            self.summary.setText(f"Float: {self.money(counted)}")
            return
        over = counted - self.expected
        words = "over" if over > 0 else "short" if over < 0 else "exact"
        text = (f"Expected {self.money(self.expected)}   ·   Counted {self.money(counted)}   ·   "
                f"{'Over' if over > 0 else 'Short' if over < 0 else 'Over/short'} "
                f"{self.money(abs(over))}" + ("" if over else " (exact)"))
        if needs_approval(over, self.threshold):
            text += (f"\nMore than {self.money(self.threshold)} {words}: give a reason; "
                     "a manager approves with their PIN.")
        self.summary.setText(text)

    def validate(self) -> None:
        self.counted, self.by_denomination = self._count()
        if self.expected is not None:
            if self.needs_approval and not self.reason.text().strip():
                raise ValueError("Say why the drawer is over or short: a reason is needed "
                                 f"beyond {self.money(self.threshold)}")
            self.card_batch_total = _money_or_none(self.card_batch.text(), self.currency)


class CashMoveDialog(_FormDialog):
    """A pay-in, pay-out or cash drop: ``amount`` and ``reason`` after OK."""

    def __init__(self, kind: str, currency: str, parent: QWidget | None = None) -> None:
        title, hint = MOVE_WORDS[kind]
        super().__init__(title, parent)
        self.setObjectName("cashMoveDialog")
        self.kind, self.currency = kind, currency
        self.amount_field = QLineEdit()
        self.amount_field.setObjectName("moveAmount")
        self.amount_field.setPlaceholderText("0.00")
        self.reason_field = QLineEdit()
        self.reason_field.setObjectName("moveReason")
        self.reason_field.setPlaceholderText(hint)
        self.form.addRow("Amount", self.amount_field)
        self.form.addRow("Reason", self.reason_field)
        self.amount = 0
        self.reason: str | None = None
        self.amount_field.setFocus()

    def validate(self) -> None:
        amount = _money_or_none(self.amount_field.text(), self.currency)
        if not amount or amount <= 0:
            raise ValueError("Type the amount, more than zero")
        self.amount = amount
        self.reason = self.reason_field.text().strip() or None
        if self.kind != "drop" and not self.reason:
            raise ValueError("Say why the cash moves (the reason is kept in the audit)")
