"""Sign-in: pick your name (or type your staff code), then your PIN.

The PIN is checked by app.services.staff off the GUI thread (argon2 takes tens of
milliseconds); its SignInError text (wrong PIN, lockout) is shown as is.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.domain.pin_rules import MAX_PIN
from app.services import staff
from app.services.staff import SignInError
from app.store.unit_of_work import Actor
from ui import messages
from ui.context import AppContext
from ui.widgets.common import heading
from ui.widgets.page_stack import scrolling
from ui.widgets.pinpad import PinPad


class SignInScreen(QWidget):
    """Emits ``signed_in(Actor)`` once a PIN is accepted."""

    signed_in = Signal(object)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("signInScreen")
        self._buttons: dict[str, QPushButton] = {}
        outer = QHBoxLayout(self)
        outer.setContentsMargins(24, 16, 24, 16)  # fits a 1024x768 till with room to spare
        outer.setSpacing(32)
        outer.addWidget(self._build_people(), 3)
        outer.addWidget(self._build_pin(), 2)

    def _build_people(self) -> QWidget:
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.addWidget(heading(messages.SIGN_IN_TITLE, "hero"))
        layout.addWidget(heading(messages.SIGN_IN_HINT, "subtle"))
        layout.addSpacing(16)
        self.waiting = heading(messages.STAFF_LOADING, "subtle")
        self.waiting.setObjectName("staffLoading")
        self.waiting.setWordWrap(True)
        layout.addWidget(self.waiting)
        people = QWidget()
        self.people = QGridLayout(people)
        self.people.setContentsMargins(0, 0, 0, 0)
        self.people.setSpacing(12)
        self.people.setAlignment(Qt.AlignmentFlag.AlignTop)
        layout.addWidget(scrolling(people, horizontal=False), 1)  # many staff scroll, never push
        return box

    def _build_pin(self) -> QWidget:
        card = QFrame()
        card.setObjectName("pinCard")
        layout = QVBoxLayout(card)
        layout.setContentsMargins(20, 16, 20, 16)
        layout.setSpacing(8)
        self.code = QLineEdit()
        self.code.setObjectName("staffCode")
        self.code.setPlaceholderText("Staff code")
        self.code.returnPressed.connect(lambda: self.pin.setFocus())
        self.code.textChanged.connect(self._highlight)
        self.pin = QLineEdit()
        self.pin.setObjectName("pinField")
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin.setPlaceholderText("PIN")
        self.pin.setMaxLength(MAX_PIN)  # an owner's PIN may be up to 12 digits
        self.pin.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.pin.returnPressed.connect(self.submit)
        self.message = QLabel("")
        self.message.setObjectName("signInMessage")
        self.message.setWordWrap(True)
        self.message.setMinimumHeight(40)
        self.pad = PinPad(self.pin)
        self.pad.submitted.connect(self.submit)
        for w in (heading("Staff code", "label"), self.code, heading("PIN", "label"), self.pin,
                  self.message, self.pad):
            layout.addWidget(w)
        layout.addStretch(1)
        return card

    # -- people -----------------------------------------------------------------
    def load_staff(self) -> None:
        self.ctx.ops.run(lambda: staff.list_staff(self.ctx.store), success=self._show_staff)

    def _show_staff(self, people: list) -> None:
        while self.people.count():
            item = self.people.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        self._buttons.clear()
        self.waiting.setVisible(not people)  # the demo's first start: staff arrive with the first sync
        for i, person in enumerate(people):
            button = QPushButton(f"{person.name}\n{person.role.title()}")
            button.setObjectName(f"staff_{person.code}")
            button.setProperty("kind", "person")
            button.setCheckable(True)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setMinimumSize(180, 84)
            button.clicked.connect(lambda _=False, code=person.code: self.choose(code))
            self.people.addWidget(button, i // 2, i % 2)
            self._buttons[person.code] = button

    def choose(self, code: str) -> None:
        self.code.setText(code)
        self.pin.clear()
        self.message.clear()
        self.pin.setFocus()

    def handle_scan(self, code: str) -> None:
        """Keys at a scanner's speed ending with Enter: a staff badge (or a code typed that
        fast) picks that person; in the PIN field it is the PIN typed fast, and Enter
        signs in as it would have. Nothing is swallowed in silence, no PIN is shown."""
        code = code.strip()
        if code in self._buttons:
            self.choose(code)
        elif self.pin.hasFocus() and self.pin.isEnabled():
            self.pin.setText(code[: self.pin.maxLength()])
            self.submit()
        else:
            self._say(messages.SCAN_AT_SIGN_IN, error=True)

    def _highlight(self, code: str) -> None:
        for c, button in self._buttons.items():
            button.setChecked(c == code.strip())

    # -- PIN --------------------------------------------------------------------
    def submit(self) -> None:
        code, pin = self.code.text().strip(), self.pin.text()
        if not code:
            self._say(messages.PICK_STAFF_FIRST, error=True)
            self.code.setFocus()
            return
        if not pin:
            self._say(messages.ENTER_PIN, error=True)
            self.pin.setFocus()
            return
        self.pin.setEnabled(False)
        self.ctx.ops.run(lambda: staff.sign_in(self.ctx.store, code, pin),
                         success=self._accepted, failure=self._rejected)

    def _accepted(self, actor: Actor) -> None:
        self.reset()
        self.signed_in.emit(actor)

    def _rejected(self, exc: BaseException) -> bool:
        self.pin.setEnabled(True)
        self.pin.clear()
        self.pin.setFocus()
        if isinstance(exc, SignInError):
            self._say(str(exc), error=True)
            return True
        return False

    def _say(self, text: str, *, error: bool) -> None:
        self.message.setProperty("level", "error" if error else "info")
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)
        self.message.setText(text)

    def reset(self) -> None:
        self.pin.setEnabled(True)
        self.pin.clear()
        self.code.clear()
        self.message.clear()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self.load_staff()
        (self.pin if self.code.text() else self.code).setFocus()
