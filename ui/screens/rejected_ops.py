"""Operations the server refused: what each was in shop words, why, and what can be done.

A refused operation is never retried on its own (docs/sync-protocol.md); the server
keeps it in its quarantine. Here a person resubmits one (the server runs it again,
vouched for by them) or dismisses it with a reason: they type their code and PIN, the
till signs them in at the server and calls POST /sync/quarantine/{id}/resubmit or
/dismiss (sync/rejected_actions.py). The server decides who may (sync.resolve: a manager
of this store, an admin or the owner); a refusal is shown in its words. The till's own row follows in one local
transaction with an audit entry: pending again after a resubmit (the next sync marks it
done), or dismissed with the reason. Offline the buttons say why they cannot act.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.services import attention
from app.services.attention import RejectedOperation
from app.services.changes import Changes
from sync import rejected_actions
from sync.client import SyncClient
from sync.rejected_actions import ServerAnswer
from ui.context import AppContext
from ui.dialogs.server_pin import ServerPinDialog
from ui.screens.table_fit import fit_to_width
from ui.server_calls import offline_reason
from ui.widgets.common import EmptyState, heading

WHAT_NOW = ("The server keeps each refused operation in its quarantine. Pick one to resubmit "
            "it (the server runs it again) or dismiss it with a reason; the server lets a "
            "manager of this store, an admin or the owner do either, who types their staff "
            "code and PIN here. Nothing "
            "is sent again by itself, and later sales keep syncing.")
RESUBMIT_WHAT = ("{what}\nThe server runs it again, vouched for by the person who types their "
                 "staff code and PIN (no approver's proof is asked). The server allows a manager "
                 "of this store, an admin or the owner.")
DISMISS_WHAT = ("{what}\nThe server closes it and nothing of it is applied. Say why; the "
                "person who types their staff code and PIN is recorded with the reason (a manager "
                "of this store, an admin or the owner).")


class RejectedOpsScreen(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("rejectedOpsScreen")
        self.rows: list[RejectedOperation] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 16, 16, 16)
        layout.addWidget(heading("Refused by the server", "title"))
        self.table = QTableWidget(0, 3)
        self.table.setObjectName("rejectedTable")
        self.table.setHorizontalHeaderLabels(["What", "Why it was refused", "When"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.itemSelectionChanged.connect(self._update_actions)
        fit_to_width(self.table, (0, 1))  # rows re-fit when the window narrows: no "…"
        layout.addWidget(self.table, 1)
        # the selected operation whole: why it was refused, readable without hovering
        self.why = QLabel("")
        self.why.setObjectName("rejectedWhy")
        self.why.setWordWrap(True)
        self.why.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.why)
        # nothing refused: a calm message in the table's place, not lines spread down the page
        self.empty = EmptyState("receipt", "Nothing refused", "The server has refused nothing from this till.")
        self.empty.setObjectName("rejectedEmpty")
        layout.addWidget(self.empty, 1)
        layout.addLayout(self._build_actions())
        self.help = QLabel(WHAT_NOW)
        self.help.setObjectName("rejectedWhatNow")
        self.help.setWordWrap(True)
        self.help.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.help)
        self.dialog: ServerPinDialog | None = None
        self._listening: object | None = None  # the BackgroundSync whose status we follow
        ctx.ops.changed.connect(self._on_changes)

    def _build_actions(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.resubmit_button = QPushButton("Resubmit…")
        self.resubmit_button.setObjectName("rejectedResubmit")
        self.resubmit_button.setProperty("kind", "primary")
        self.resubmit_button.clicked.connect(self.ask_resubmit)
        self.dismiss_button = QPushButton("Dismiss…")
        self.dismiss_button.setObjectName("rejectedDismiss")
        self.dismiss_button.clicked.connect(self.ask_dismiss)
        self.why_not = QLabel("")
        self.why_not.setObjectName("rejectedWhyNot")
        self.why_not.setProperty("level", "warning")
        self.why_not.setWordWrap(True)
        row.addWidget(self.resubmit_button)
        row.addWidget(self.dismiss_button)
        row.addWidget(self.why_not, 1)
        return row

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self._follow_sync()
        self.reload()

    def _follow_sync(self) -> None:
        """The buttons follow online/offline once the till syncs (it may start after us)."""
        sync = self.ctx.sync
        if sync is not None and sync is not self._listening:
            sync.status_changed.connect(lambda _status: self._update_actions())
            self._listening = sync

    def selected(self) -> RejectedOperation | None:
        rows = self.table.selectionModel().selectedRows() if self.rows else []
        return self.rows[rows[0].row()] if rows and rows[0].row() < len(self.rows) else None

    def _update_actions(self) -> None:
        """Enabled with a row picked and the server reachable; else the reason, in words."""
        why_not = offline_reason(self.ctx)
        picked = self.selected()
        if why_not is None and not self.rows:
            why_not = ""
        elif why_not is None and picked is None:
            why_not = "Pick an operation to resubmit or dismiss it"
        for button in (self.resubmit_button, self.dismiss_button):
            button.setEnabled(not why_not and picked is not None)
            button.setToolTip(why_not or "")
        self.why_not.setText(why_not or "")
        self.why.setText(f"{picked.what}: refused because {picked.reason}" if picked is not None else "")
        visible = bool(self.rows)
        for w in (self.resubmit_button, self.dismiss_button, self.why_not, self.why):
            w.setVisible(visible)

    # -- resubmit / dismiss -----------------------------------------------------
    def ask_resubmit(self) -> ServerPinDialog | None:
        op = self.selected()
        if op is None:
            return None
        store = self.ctx.store

        async def call(client: SyncClient, code: str, pin: str, _reason: str) -> ServerAnswer:
            return await rejected_actions.resubmit(store, client, op.op_id, code, pin)

        return self._open(ServerPinDialog(
            self.ctx, "Resubmit to the server", RESUBMIT_WHAT.format(what=op.what), "Resubmit",
            call, lambda answer: rejected_actions.record_resubmit(store, op.op_id, answer),
            parent=self), self._resubmitted)

    def ask_dismiss(self) -> ServerPinDialog | None:
        op = self.selected()
        if op is None:
            return None
        store = self.ctx.store

        async def call(client: SyncClient, code: str, pin: str, reason: str) -> ServerAnswer:
            return await rejected_actions.dismiss(store, client, op.op_id, code, pin, reason)

        return self._open(ServerPinDialog(
            self.ctx, "Dismiss on the server", DISMISS_WHAT.format(what=op.what), "Dismiss",
            call, lambda answer: rejected_actions.record_dismiss(store, op.op_id, answer),
            with_reason=True, parent=self), self._dismissed)

    def _open(self, dialog: ServerPinDialog, done: object) -> ServerPinDialog:
        self.dialog = dialog
        dialog.accepted.connect(lambda: done(dialog) if callable(done) else None)
        dialog.open()
        return dialog

    def _resubmitted(self, dialog: ServerPinDialog) -> None:
        answer: ServerAnswer = dialog.answer
        if dialog.recorded == "rejected":
            self.ctx.warn(f"The server refused it again: {answer.reason}")
        else:
            self.ctx.info(f"Resubmitted by {answer.by.name}: {answer.status} on the server; "
                          "the next sync marks it done here")
        self.reload()

    def _dismissed(self, dialog: ServerPinDialog) -> None:
        answer: ServerAnswer = dialog.answer
        self.ctx.info(f"Dismissed by {answer.by.name}: {answer.reason}")
        self.reload()

    def _on_changes(self, changes: Changes) -> None:
        if self.isVisible():
            self.reload()

    def reload(self) -> None:
        self.ctx.ops.run(lambda: attention.rejected_operations(self.ctx.store, self.ctx.money),
                         success=self.show_rows)

    def show_rows(self, rows: list[RejectedOperation]) -> None:
        self.rows = rows
        self.table.setRowCount(len(rows))
        for i, r in enumerate(rows):
            when = r.created_at.astimezone().strftime("%d %b %H:%M")
            for col, text in enumerate((r.what, r.reason, when)):
                item = QTableWidgetItem(text)
                item.setToolTip(f"{text}\n(operation {r.op_id})")
                self.table.setItem(i, col, item)
        self.table.resizeRowsToContents()
        self.table.setVisible(bool(rows))
        self.empty.setVisible(not rows)
        if rows and self.selected() is None:
            self.table.selectRow(0)
        self._update_actions()
