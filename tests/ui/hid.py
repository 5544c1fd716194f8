"""Key events the way a USB HID keyboard-wedge scanner sends them.

A scanner is a keyboard: for a capital it presses Shift, the letter (with the
Shift modifier) and releases Shift again, all within a few milliseconds, and it
ends the code with Enter. ``busy_beside`` puts a CPU-bound thread next to the
app, as a loaded till has.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

SHIFT = Qt.KeyboardModifier.ShiftModifier
NONE = Qt.KeyboardModifier.NoModifier


def scan(text: str, target: QWidget | None = None) -> None:
    """Type ``text`` + Enter as a HID scanner does, into ``target`` or whatever has focus."""
    widget = target or QApplication.focusWidget()
    assert widget is not None, "nothing has keyboard focus"
    for ch in text:
        if ch.isupper():
            QTest.keyPress(widget, Qt.Key.Key_Shift, NONE)
            QTest.keyClick(widget, ch, SHIFT)
            QTest.keyRelease(widget, Qt.Key.Key_Shift, SHIFT)
        else:
            QTest.keyClick(widget, ch, NONE)
    QTest.keyClick(widget, Qt.Key.Key_Return, NONE)


@contextmanager
def busy_beside(threads: int = 2) -> Iterator[None]:
    """CPU-bound Python threads running beside the GUI thread (they contend for the GIL)."""
    stop = threading.Event()

    def spin() -> None:
        n = 0
        while not stop.is_set():
            n += 1

    workers = [threading.Thread(target=spin, daemon=True) for _ in range(threads)]
    for w in workers:
        w.start()
    try:
        yield
    finally:
        stop.set()
        for w in workers:
            w.join()
