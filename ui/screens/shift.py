"""The till's shift: open it with a float, move cash in and out, X report, close with a Z.

Keys: F2 open, F3 pay in, F4 pay out, F5 cash drop, F6 no sale, F7 X report, F8 close,
F10 print what is shown. The figures, the close and its Z number are the services'
(app/services/shifts.py, cash_movements.py, shift_reports.py); the report text is the
printer's own (printing/shift_report.py), so the screen shows what prints. Every write
runs through ctx.ops off the GUI thread. Past Z reports are listed for a reprint.

A no-sale past the person's till limits, and a close over or short beyond the store's
threshold, take a manager's PIN (ui/dialogs/pin_override.py). Closing says how many
operations still wait to sync (ui/dialogs/unsynced.py) and lets the person go on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QListWidgetItem,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.domain.permissions import Action
from app.services import cash_movements, shift_reports, shifts, till_limits
from app.services.cash_movements import CashMovementError
from app.services.changes import Changes
from app.services.shift_reports import CloseError
from app.services.shifts import ShiftError
from app.store.unit_of_work import Actor
from ui.context import AppContext
from ui.dialogs.cash_count import CashCountDialog, CashMoveDialog
from ui.dialogs.pin_override import PinOverrideDialog
from ui.dialogs.unsynced import waiting_words
from ui.widgets.common import HintedList, action_button, fixed_pitch, heading

SHIFT_CHANGES = Changes(outbox=True)
# What the empty panes say (a blank box tells a person nothing)
NO_SHIFT_REPORT = "No shift is open. Press F2 to open one; then F7 shows an X report here."
OPEN_SHIFT_REPORT = "Press F7 for an X report of this shift, or pick a past Z report below."
NO_Z_REPORTS = "No Z reports yet. Closing a shift (F8) makes one."
NO_MOVES = "No cash moved in or out yet: F3 pay in, F4 pay out, F5 cash drop."
NO_MOVES_CLOSED = "Cash paid in and out shows here once a shift is open."
SHIFT_ERRORS = (ShiftError, CashMovementError, CloseError)
# (name, label, key, kind)
ACTIONS = (
    ("open_shift", "Open shift", "F2", "primary"), ("pay_in", "Pay in", "F3", ""),
    ("pay_out", "Pay out", "F4", ""), ("drop", "Cash drop", "F5", ""),
    ("no_sale", "No sale", "F6", ""), ("x_report", "X report", "F7", ""),
    ("close_shift", "Close shift", "F8", "danger"), ("print_report", "Print", "F10", ""),
)


class ShiftScreen(QWidget):
    """Emits ``opened`` once a shift is open (the window goes back to a waiting sale)."""

    opened = Signal()

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("shiftScreen")
        self.current: shifts.ShiftView | None = None
        self.shown: Any = None  # the report document on screen (what F10 prints)
        self.dialog: QDialog | None = None
        self.override: PinOverrideDialog | None = None
        layout = QHBoxLayout(self)
        # Tighter than 16 px: the page fits a 1024x768 till with no scroll bar.
        layout.setContentsMargins(12, 8, 12, 8)
        layout.setSpacing(12)
        layout.addLayout(self._build_left(), 1)
        layout.addLayout(self._build_right(), 1)
        for name, _label, key, _kind in ACTIONS:
            QShortcut(QKeySequence(key), self, activated=getattr(self, name),
                      context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        ctx.ops.changed.connect(lambda _c: self.refresh() if self.isVisible() else None)

    def _build_left(self) -> QVBoxLayout:
        box = QVBoxLayout()
        box.addWidget(heading("Shift", "title"))
        self.status = heading("", "totalLine")
        self.status.setObjectName("shiftStatus")
        self.status.setWordWrap(True)
        self.expected = heading("", "totalLine")
        self.expected.setObjectName("shiftExpected")
        self.expected.setWordWrap(True)
        self.moves = HintedList("")
        self.moves.setObjectName("shiftMoves")
        self.moves.setMinimumHeight(60)  # a few movements; more scroll inside the list
        box.addWidget(self.status)
        box.addWidget(self.expected)
        box.addWidget(heading("Cash in and out of the drawer", "subtle"))
        box.addWidget(self.moves, 1)
        grid = QGridLayout()
        grid.setSpacing(8)
        self.buttons = {}
        for i, (name, label, key, kind) in enumerate(ACTIONS):
            button = action_button(label, key, kind=kind)
            button.setObjectName(f"shift_{name}")
            button.clicked.connect(getattr(self, name))
            grid.addWidget(button, i // 2, i % 2)
            self.buttons[name] = button
        box.addLayout(grid)
        return box

    def _build_right(self) -> QVBoxLayout:
        box = QVBoxLayout()
        box.addWidget(heading("Report", "subtle"))
        self.report = QPlainTextEdit()
        self.report.setObjectName("shiftReport")
        self.report.setReadOnly(True)
        self.report.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)  # the printer's columns
        fixed_pitch(self.report, 14)
        self.report.setPlaceholderText(NO_SHIFT_REPORT)
        box.addWidget(self.report, 3)
        box.addWidget(heading("Past Z reports (select one to see and reprint it)", "subtle"))
        self.z_list = HintedList(NO_Z_REPORTS)
        self.z_list.setObjectName("zList")
        self.z_list.itemActivated.connect(self._show_z)
        self.z_list.itemClicked.connect(self._show_z)
        box.addWidget(self.z_list, 1)
        return box

    # -- state ------------------------------------------------------------------
    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self.refresh()

    def refresh(self) -> None:
        store = self.ctx.store

        def read() -> tuple[Any, ...]:
            shift = shifts.current_shift(store)
            return (shift, shifts.expected_cash(store), cash_movements.movements(store),
                    shift_reports.z_reports(store, 50))

        self.ctx.ops.run(read, success=self._show_state)

    def _show_state(self, state: tuple[Any, ...]) -> None:
        shift, expected, moves, zs = state
        self.current = shift
        money = self.ctx.money
        self.report.setPlaceholderText(OPEN_SHIFT_REPORT if shift is not None else NO_SHIFT_REPORT)
        self.moves.set_hint(NO_MOVES if shift is not None else NO_MOVES_CLOSED)
        if shift is None:
            self.status.setText("No shift is open on this till. Open one to start selling.")
            self.expected.setText("")
        else:
            opened = shift.opened_at.astimezone().strftime("%a %d %b, %H:%M")
            self.status.setText(f"Shift open since {opened}, float {money(shift.opening_float)}")
            self.expected.setText(f"Cash expected in the drawer: {money(expected or 0)}")
        self.moves.clear()
        words = {"pay_in": "Paid in", "pay_out": "Paid out", "drop": "Dropped to the safe",
                 "no_sale": "No sale (drawer opened)"}
        for mv in moves:
            when = mv.created_at.astimezone().strftime("%H:%M")
            amount = f"  {money(mv.amount)}" if mv.amount else ""
            self.moves.addItem(f"{when}  {words.get(mv.kind, mv.kind)}{amount}"
                               + (f"  · {mv.reason}" if mv.reason else ""))
        self.z_list.clear()
        for z in zs:
            item = QListWidgetItem(f"Z {z.z_number}   {z.closed_at.astimezone():%d %b %Y %H:%M}   "
                                   f"sales {money(z.sales_total)}   over/short {money(z.over_short)}")
            item.setData(Qt.ItemDataRole.UserRole, z.z_number)
            self.z_list.addItem(item)
        is_open = shift is not None
        self.buttons["open_shift"].setEnabled(not is_open)
        for name in ("pay_in", "pay_out", "drop", "no_sale", "x_report", "close_shift"):
            self.buttons[name].setEnabled(is_open)

    # -- helpers ----------------------------------------------------------------
    def _run(self, fn: Callable[[], Any], success: Callable[[Any], None] | None = None) -> None:
        def failed(exc: BaseException) -> bool:
            if isinstance(exc, SHIFT_ERRORS):
                self.ctx.error(str(exc))
                return True
            return False

        def done(result: Any) -> None:
            self.refresh()
            if success is not None:
                success(result)

        self.ctx.ops.run(fn, changes=SHIFT_CHANGES, success=done, failure=failed)

    def _actor(self) -> Actor | None:
        return self.ctx.actor

    def _ask_pin(self, action: Action, what: str, then: Callable[[Actor], None]) -> None:
        dialog = PinOverrideDialog(self.ctx, action, what, self)
        self.override = dialog
        dialog.accepted.connect(lambda: then(dialog.approver) if dialog.approver else None)
        dialog.open()

    def _open_dialog(self, dialog: QDialog, then: Callable[[], None]) -> None:
        self.dialog = dialog
        dialog.accepted.connect(then)
        dialog.open()

    # -- actions ----------------------------------------------------------------
    def open_shift(self) -> None:
        """F2: count the float into the drawer (a total or note by note)."""
        actor = self._actor()
        if actor is None or self.current is not None:
            return
        dialog = CashCountDialog("Open shift: count the float", self.ctx.currency,
                                 self.ctx.locale, self)
        store = self.ctx.store
        self._open_dialog(dialog, lambda: self._run(lambda: shifts.open_shift(
            store, actor, dialog.counted, dialog.by_denomination),
            lambda _v: (self.ctx.info(f"Shift open with a float of {self.ctx.money(dialog.counted)}"),
                        self.opened.emit())))

    def _move(self, kind: str) -> None:
        actor = self._actor()
        if actor is None or self.current is None:
            return
        dialog = CashMoveDialog(kind, self.ctx.currency, self)
        record = {"pay_in": cash_movements.pay_in, "pay_out": cash_movements.pay_out,
                  "drop": cash_movements.cash_drop}[kind]
        store = self.ctx.store
        self._open_dialog(dialog, lambda: self._run(
            lambda: record(store, actor, dialog.amount, dialog.reason),  # type: ignore[arg-type]
            lambda mv: self.ctx.info(f"{dialog.windowTitle()}: {self.ctx.money(mv.amount)}")))

    def pay_in(self) -> None:
        self._move("pay_in")

    def pay_out(self) -> None:
        self._move("pay_out")

    def drop(self) -> None:
        self._move("drop")

    def no_sale(self) -> None:
        """F6: open the drawer without a sale: recorded, audited, then the drawer kicked."""
        actor = self._actor()
        if actor is None or self.current is None:
            return
        if till_limits.may_open_drawer(self.ctx.store, actor):
            self._no_sale(actor)
        else:
            self._ask_pin(Action.DRAWER_NO_SALE, "Opening the drawer without a sale is beyond "
                          "your till limits.", self._no_sale)

    def _no_sale(self, who: Actor) -> None:
        store = self.ctx.store
        self._run(lambda: cash_movements.no_sale(store, who), lambda _mv: self._kick_drawer(who))

    def _kick_drawer(self, who: Actor) -> None:
        service = self.ctx.printing
        if service is None:
            self.ctx.warn("No sale recorded; no printer is set up to open the drawer")
            return
        from ui.receipts import process_queue

        def queue() -> str:
            from printing.escpos_output import render_rows
            from printing.layout import Row

            cfg = service.queue.default_printer()
            if cfg is None:
                return ""
            rows = [Row("NO SALE", center=True), Row(who.name, center=True)]
            payload = render_rows(rows, cfg.paper_mm, open_drawer=cfg.open_drawer)
            return str(service.queue.add(cfg.name, "no_sale", payload, reference="No sale"))

        self.ctx.ops.run(queue, success=lambda _job: process_queue(self.ctx))
        self.ctx.info("No sale recorded: the drawer opens")

    def x_report(self) -> None:
        """F7: the X report now (changes nothing)."""
        if self.current is None:
            return
        store = self.ctx.store

        def build() -> Any:
            from printing.shift_report import x_document

            return x_document(store)

        self._show_doc(build)

    def _show_doc(self, build: Callable[[], Any]) -> None:
        def shown(doc: Any) -> None:
            from printing.shift_report import report_text

            self.shown = doc
            self.report.setPlainText(report_text(doc))

        self.ctx.ops.run(build, success=shown, failure=self._report_failed)

    def _report_failed(self, exc: BaseException) -> bool:
        if isinstance(exc, SHIFT_ERRORS):
            self.ctx.error(str(exc))
            return True
        return False

    def _show_z(self, item: QListWidgetItem) -> None:
        number = item.data(Qt.ItemDataRole.UserRole)
        store = self.ctx.store

        def build() -> Any:
            from printing.shift_report import z_document

            return z_document(store, int(number), reprint=True)

        self._show_doc(build)

    def print_report(self) -> None:
        """F10: print the report on screen (a past Z prints marked as a reprint)."""
        self._print()

    def _print(self, done: str = "") -> None:
        service, doc = self.ctx.printing, self.shown
        if doc is None:
            self.ctx.warn("Show an X report or pick a Z report first")
            return
        if service is None:
            self.ctx.warn("Printing is not available on this till")
            return
        from printing.shift_report import enqueue_shift_report
        from ui.receipts import process_queue

        self.ctx.ops.run(lambda: enqueue_shift_report(service, doc),
                         success=lambda _job: process_queue(self.ctx))
        self.ctx.info(f"{done}{doc.title} queued for the printer")

    # -- close ------------------------------------------------------------------
    def close_shift(self) -> None:
        """F8: count the drawer; beyond the threshold a reason and a manager's PIN."""
        actor = self._actor()
        if actor is None or self.current is None:
            return
        store = self.ctx.store
        expected = shifts.expected_cash(store) or 0
        waiting = waiting_words(shift_reports.waiting_operations(store))
        dialog = CashCountDialog("Close shift: count the drawer", self.ctx.currency,
                                 self.ctx.locale, self, expected=expected,
                                 threshold=shift_reports.variance_threshold(store),
                                 waiting=waiting)
        self._open_dialog(dialog, lambda: self._counted(actor, dialog))

    def _counted(self, actor: Actor, dialog: CashCountDialog) -> None:
        if dialog.needs_approval:
            self._ask_pin(Action.SHIFT_VARIANCE_APPROVE,
                          f"The drawer is over or short by "
                          f"{self.ctx.money(abs(dialog.over_short or 0))}.",
                          lambda approver: self._close(actor, dialog, approver))
        else:
            self._close(actor, dialog, None)

    def _close(self, actor: Actor, dialog: CashCountDialog, approver: Actor | None) -> None:
        store = self.ctx.store
        counted = None if dialog.by_denomination else dialog.counted

        def close() -> Any:
            from printing.shift_report import z_document

            z = shift_reports.close_shift(
                store, actor, counted_cash=counted, counted_by_denomination=dialog.by_denomination,
                card_batch_total=dialog.card_batch_total,
                over_short_reason=dialog.reason.text().strip() or None, approver=approver)
            return z_document(store, z.z_number)

        def closed(doc: Any) -> None:
            from printing.shift_report import report_text

            self.shown = doc
            self.report.setPlainText(report_text(doc))
            self._print("Shift closed: ")

        self._run(close, closed)
