"""A code and PIN typed at the till for something the server does under that person's
own sign-in (resubmitting or dismissing a refused operation).

The till does not decide who may: it signs the person in at the server and asks; the
server's answer (a wrong PIN, a role that may not) is shown here in its words and the
dialog stays open for another try. Once the server has done it, the till's own record
is written (``record``, on the database lane) and the dialog closes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QLayout, QLineEdit, QWidget

from app.services.changes import Changes
from sync.client import SyncClient
from sync.rejected_actions import MAX_REASON, ActionRefused, checked_reason
from ui.context import AppContext
from ui.dialogs.common import FormDialog
from ui.server_calls import offline_reason, run_call, words
from ui.widgets.common import heading
from ui.widgets.pinpad import code_and_pin_rows

#: (client, code, pin, reason) -> the server's answer
Call = Callable[[SyncClient, str, str, str], Awaitable[Any]]


class ServerPinDialog(FormDialog):
    """Accepted once the server did it and the till recorded it: ``answer`` and
    ``recorded`` (what ``record`` returned) are then set."""

    def __init__(self, ctx: AppContext, title: str, what: str, action: str, call: Call,
                 record: Callable[[Any], Any], *, with_reason: bool = False,
                 changes: Changes | None = Changes(outbox=True),  # noqa: B008 - frozen
                 parent: QWidget | None = None) -> None:
        super().__init__(title, parent, width=440)
        self.setObjectName("serverPinDialog")
        # never smaller than its contents: the pad's keys keep their size under a long answer
        self.body.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)
        self.ctx, self.call, self.record, self.changes = ctx, call, record, changes
        self.answer: Any = None
        self.recorded: Any = None
        explain = heading(what, "subtle")
        explain.setWordWrap(True)
        self.body.insertWidget(1, explain)
        self.reason: QLineEdit | None = None
        if with_reason:
            self.reason = QLineEdit()
            self.reason.setObjectName("serverReason")
            self.reason.setMaxLength(MAX_REASON)
            self.reason.setPlaceholderText("Why (required), e.g. entered twice by mistake")
            self.form.addRow("Reason", self.reason)
        rows = code_and_pin_rows(self.form, "Staff code", "server", self.submit)
        self.code, self.pin, self.pad = rows.code, rows.pin, rows.pad
        self.body.addWidget(self.pad)
        self.add_error_line()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.go = buttons.addButton(action, QDialogButtonBox.ButtonRole.AcceptRole)
        self.go.setObjectName("serverGo")
        self.go.setProperty("kind", "primary")
        self.go.clicked.connect(self.submit)
        buttons.rejected.connect(self.reject)
        self.body.addWidget(buttons)
        first = self.reason if self.reason is not None else self.code
        first.setFocus(Qt.FocusReason.OtherFocusReason)

    def fail(self, text: str) -> None:
        super().fail(text)
        self.adjustSize()  # the server's words may take lines: the dialog grows for them

    def submit(self) -> None:
        if not self.go.isEnabled():
            return  # the server is being asked already
        code, pin = self.code.text().strip(), self.pin.text().strip()
        reason = ""
        if self.reason is not None:
            try:
                reason = checked_reason(self.reason.text())
            except ActionRefused as exc:
                self.fail(str(exc))
                return
        if not code or not pin:
            self.fail("Enter the staff code and PIN")
            return
        why_not = offline_reason(self.ctx)
        if why_not:
            self.fail(why_not)
            return
        self.go.setEnabled(False)
        self.fail("Asking the server…")
        run_call(self.ctx, lambda client: self.call(client, code, pin, reason),
                 success=self._answered, failure=self._refused)

    def _answered(self, answer: Any) -> None:
        self.answer = answer
        self.ctx.ops.run(lambda: self.record(answer), changes=self.changes,
                         success=self._recorded, failure=self._refused)

    def _recorded(self, recorded: Any) -> None:
        self.recorded = recorded
        self.go.setEnabled(True)
        self.accept()

    def _refused(self, exc: BaseException) -> bool:
        self.go.setEnabled(True)
        text = words(exc)
        if text is None:
            self.fail("")
            return False
        self.pin.clear()
        self.fail(text)
        return True
