"""The approvals queue (managers and owners): deletions and refunds waiting for a decision.

Requests come from any terminal of the store (they sync like everything else),
so the queue reloads on every Changes that says approvals or orders changed,
including the one the background sync broadcasts after a pull. ``count_changed``
feeds the pending-count badge on the navigation button.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QStackedWidget, QVBoxLayout, QWidget

from app.domain.permissions import Action
from app.services import approvals, staff
from app.services.changes import Changes
from ui.context import AppContext
from ui.dialogs.common import show_flow_error
from ui.screens.order_detail import fill, small_button, table
from ui.screens.order_detail_actions import AFTER_SALE, OrderActions
from ui.screens.order_detail_format import when
from ui.screens.table_fit import fit_to_width
from ui.widgets.common import EmptyState, heading

KIND_NAMES = {"delete": "Deletion", "refund": "Refund"}


def load_queue(store) -> tuple[list[approvals.PendingApproval], dict[str, str]]:  # noqa: ANN001
    """The pending requests and the names of the staff who asked (one read, off the GUI thread)."""
    return approvals.pending(store), {p.id: p.name for p in staff.list_staff(store)}


class ApprovalsScreen(QWidget):
    count_changed = Signal(int)
    open_order = Signal(str)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("approvalsScreen")
        self.requests: list[approvals.PendingApproval] = []
        self.printer = OrderActions(ctx, self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 16, 16, 16)
        layout.setSpacing(12)
        layout.addWidget(heading("Approvals", "title"))
        hint = heading("Deletions and refunds asked for at any till of this store. "
                       "Approving a refund pays it out and prints its receipt.", "subtle")
        hint.setWordWrap(True)
        layout.addWidget(hint)
        self.table = table("approvalsTable", ["Kind", "Order", "Amount", "Reason", "Requested by", "When"],
                           stretch=3)
        self.table.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.table.setStyleSheet("QTableView { font-size: 17px; }")
        self.table.verticalHeader().setDefaultSectionSize(46)
        self.table.verticalHeader().setMinimumSectionSize(46)
        fit_to_width(self.table, (3,))  # the reason wraps: read whole at 1024 px, no hover
        self.table.doubleClicked.connect(lambda _i: self._open())
        self.stack = QStackedWidget()
        self.stack.addWidget(EmptyState("receipt", "Nothing waiting for approval",
                                        "Requests from every till of the store appear here"))
        self.stack.addWidget(self.table)
        layout.addWidget(self.stack, 1)
        row = QHBoxLayout()
        self.note = QLineEdit()
        self.note.setObjectName("approvalNote")
        self.note.setPlaceholderText("Note for the decision (optional)")
        self.approve_button = small_button("Approve", "approveButton", "primary")
        self.reject_button = small_button("Reject", "rejectButton", "danger")
        self.open_button = small_button("Open order", "approvalOpen")
        self.approve_button.clicked.connect(lambda: self.decide(True))
        self.reject_button.clicked.connect(lambda: self.decide(False))
        self.open_button.clicked.connect(self._open)
        for w in (self.note, self.approve_button, self.reject_button, self.open_button):
            w.setMinimumHeight(52)
            row.addWidget(w, 1 if w is self.note else 0)
        layout.addLayout(row)
        ctx.ops.changed.connect(self._on_changes)
        ctx.actor_changed.connect(lambda _a: self.reload())
        self.table.itemSelectionChanged.connect(self._enable)
        self._enable()

    def _on_changes(self, changes: Changes) -> None:
        if changes.approvals or changes.orders:
            self.reload()  # also when hidden: the navigation badge shows the count

    def reload(self) -> None:
        if self.ctx.actor is None or not self.ctx.can(Action.APPROVAL_DECIDE):
            return
        self.ctx.ops.run(lambda: load_queue(self.ctx.store), success=self._show)

    def _show(self, loaded: tuple[list[approvals.PendingApproval], dict[str, str]]) -> None:
        requests, names = loaded
        selected = self.current.id if self.current else None
        self.requests = requests
        m = self.ctx.money
        fill(self.table, [(KIND_NAMES.get(r.kind, r.kind), r.order_reference,
                           m(r.amount) if r.amount is not None else "", r.reason,
                           names.get(r.requested_by, r.requested_by), when(r.requested_at)) for r in requests],
             right=(2,))
        self.table.setMinimumHeight(0)
        self.table.setMaximumHeight(16_777_215)  # fill() sizes detail tables; this one fills the screen
        self.stack.setCurrentIndex(1 if requests else 0)
        rows = [i for i, r in enumerate(requests) if r.id == selected] or ([0] if requests else [])
        if rows:
            self.table.selectRow(rows[0])
        self._enable()
        self.count_changed.emit(len(requests))

    @property
    def current(self) -> approvals.PendingApproval | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return self.requests[rows[0].row()] if rows and rows[0].row() < len(self.requests) else None

    def select(self, approval_id: str) -> None:
        for i, r in enumerate(self.requests):
            if r.id == approval_id:
                self.table.selectRow(i)

    def _enable(self) -> None:
        chosen = self.current is not None
        for b in (self.approve_button, self.reject_button, self.open_button):
            b.setEnabled(chosen)

    def decide(self, approve: bool) -> None:
        request, actor, store = self.current, self.ctx.actor, self.ctx.store
        if request is None:
            return
        note = self.note.text().strip() or None
        verb = "approved" if approve else "rejected"

        def decided(_r: object) -> None:
            self.note.clear()
            self.ctx.info(f"{KIND_NAMES.get(request.kind, request.kind)} of {request.order_reference} {verb}")
            if approve and request.kind == "refund":
                self.printer.print_refund(request.order_id)

        self.ctx.ops.run(lambda: approvals.decide(store, actor, request.id, approve, note), changes=AFTER_SALE,
                         success=decided, failure=show_flow_error(self.ctx.error))

    def _open(self) -> None:
        if self.current is not None:
            self.open_order.emit(self.current.order_id)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self.reload()
