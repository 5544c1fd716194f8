"""What the manager-flow dialogs share: a titled form with an inline error, error routing."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QDialog, QFormLayout, QLabel, QVBoxLayout, QWidget

from app.domain.schedule import ScheduleError
from app.services.approvals import ApprovalError
from app.services.exchanges import ExchangeError
from app.services.order_edits import EditError
from app.services.shifts import ShiftError
from ui.widgets.common import heading

#: Errors of the after-sale services whose text is written for the person (a refund or
#: an exchange with no shift open says so: shifts.NoOpenShift).
FLOW_ERRORS: tuple[type[BaseException], ...] = (ApprovalError, EditError, ExchangeError, ScheduleError,
                                                ShiftError)


def flow_errors() -> tuple[type[BaseException], ...]:
    """FLOW_ERRORS plus the ones of modules loaded lazily (sync conflicts, printing)."""
    import sys

    extra: list[type[BaseException]] = []
    for module, name in (("sync.conflicts", "ConflictError"), ("printing.queue", "PrintJobError"),
                         ("printing.receipt", "ReceiptError")):
        found = getattr(sys.modules.get(module), name, None)
        if found is not None:
            extra.append(found)
    return FLOW_ERRORS + tuple(extra)


def show_flow_error(show: Callable[[str], None]) -> Callable[[BaseException], bool]:
    """An ops ``failure`` callback: after-sale refusals are shown with ``show``; others go on."""

    def failure(exc: BaseException) -> bool:
        if isinstance(exc, flow_errors()):
            show(str(exc))
            return True
        return False

    return failure


class FormDialog(QDialog):
    """Title, a form, an inline error line; subclasses add their buttons."""

    def __init__(self, title: str, parent: QWidget | None = None, *, width: int = 480) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(width)
        self.body = QVBoxLayout(self)
        self.body.addWidget(heading(title, "dialogTitle"))
        self.form = QFormLayout()
        self.body.addLayout(self.form)
        self.error = QLabel("")
        self.error.setObjectName("dialogError")
        self.error.setProperty("level", "error")
        self.error.setWordWrap(True)

    def add_error_line(self) -> None:
        self.body.addWidget(self.error)

    def fail(self, text: str) -> None:
        self.error.setText(text)
