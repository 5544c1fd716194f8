"""A manager's PIN override at the till: staff code + PIN of someone allowed to approve."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QWidget

from app.services.staff import SignInError, verify_override
from app.store.unit_of_work import Actor
from ui.context import AppContext
from ui.dialogs.common import FormDialog
from ui.widgets.common import heading
from ui.widgets.pinpad import code_and_pin_rows


class PinOverrideDialog(FormDialog):
    """Accepted once ``verify_override`` named an approver; ``approver`` is then set.

    A wrong PIN, an unknown code or someone without the right (a cashier's own
    PIN) is shown in the dialog, which stays open for another try.
    """

    def __init__(self, ctx: AppContext, action: str, what: str, parent: QWidget | None = None) -> None:
        super().__init__("Manager approval", parent, width=420)
        self.setObjectName("pinOverrideDialog")
        self.ctx, self.action = ctx, action
        self.approver: Actor | None = None
        explain = heading(f"{what}\nA manager or owner enters their staff code and PIN.", "subtle")
        explain.setWordWrap(True)
        self.body.insertWidget(1, explain)
        rows = code_and_pin_rows(self.form, "Manager code", "override", self.submit)
        self.code, self.pin, self.pad = rows.code, rows.pin, rows.pad
        self.body.addWidget(self.pad)
        self.add_error_line()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.approve_button = buttons.addButton("Approve", QDialogButtonBox.ButtonRole.AcceptRole)
        self.approve_button.setObjectName("overrideApprove")
        self.approve_button.setProperty("kind", "primary")
        self.approve_button.clicked.connect(self.submit)
        buttons.rejected.connect(self.reject)
        self.body.addWidget(buttons)
        self.code.setFocus(Qt.FocusReason.OtherFocusReason)

    def submit(self) -> None:
        code, pin = self.code.text().strip(), self.pin.text().strip()
        if not code or not pin:
            self.fail("Enter the manager's staff code and PIN")
            return
        self.approve_button.setEnabled(False)
        self.ctx.ops.run(lambda: verify_override(self.ctx.store, code, pin, self.action),
                         success=self._verified, failure=self._refused)

    def _verified(self, approver: Actor) -> None:
        self.approver = approver
        self.approve_button.setEnabled(True)
        self.accept()

    def _refused(self, exc: BaseException) -> bool:
        self.approve_button.setEnabled(True)
        if isinstance(exc, SignInError):
            self.pin.clear()
            self.fail(str(exc))
            return True
        return False
