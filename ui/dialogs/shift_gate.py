"""Selling needs an open shift: the register asks here before it takes a payment.

With a shift open, or a store that opens shifts by themselves (``auto_open_shift``: the
sale's own job opens one with a zero float, app/services/till_limits.py), the sale goes
on. Otherwise the register refuses the sale and offers to open a shift: yes shows the
shift screen with its open dialog (``open_shift``, given by the register).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QMessageBox, QWidget

from app.services import shifts, till_limits
from ui.context import AppContext

NO_SHIFT = ("No shift is open on this till, and a sale needs one.\n"
            "Open a shift now (count the float into the drawer)?")


def shift_ready(ctx: AppContext, host: QWidget, open_shift: Callable[[], None]) -> bool:
    """Whether the sale may go on; when not, the offer to open a shift is on screen.

    Two small reads of the local store (the open shift, the store's setting) on the GUI
    thread: the register must know before it opens the tender."""
    if shifts.current_shift(ctx.store) is not None or till_limits.auto_open_shift(ctx.store):
        return True
    box = QMessageBox(QMessageBox.Icon.Question, "Open a shift", NO_SHIFT,
                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, host)
    box.setObjectName("noShiftBox")
    box.accepted.connect(open_shift)
    host.no_shift_box = box  # type: ignore[attr-defined]  # kept alive while open
    box.open()
    return False
