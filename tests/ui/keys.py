"""Typing as a person does: one key event per character, Shift held for capitals."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QWidget

from ui.scanner import holding_keys

SHIFTED = set('ABCDEFGHIJKLMNOPQRSTUVWXYZ!"£$%^&*()_+{}:@~<>?|')


#: a person's pace between keys: slower than a wedge scanner's burst, so the scanner
#: filter (ui/scanner.py) leaves the keys to the focused field
PERSON_MS = 45


def type_text(widget: QWidget, text: str, delay_ms: int = PERSON_MS) -> None:
    """Each character as its own key press; capitals and shifted symbols with Shift."""
    for ch in text:
        modifier = Qt.KeyboardModifier.ShiftModifier if ch in SHIFTED else Qt.KeyboardModifier.NoModifier
        QTest.keyClick(widget, ch, modifier, delay_ms)
    delivered()


def delivered(timeout_ms: int = 3000) -> None:
    """Wait until the scanner filter (ui/scanner.py) holds no typed key: it holds each
    ~30 ms to tell a person from a scanner and replays it from a timer, so on a busy
    machine a field read right after the last key press can be one key short."""
    waited = 0
    while holding_keys() and waited < timeout_ms:
        QTest.qWait(5)
        waited += 5


def press(widget: QWidget, key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    QTest.keyClick(widget, key, modifier)
