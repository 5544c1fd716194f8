"""Typing as a person does: one key event per character, Shift held for capitals."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QWidget

SHIFTED = set('ABCDEFGHIJKLMNOPQRSTUVWXYZ!"£$%^&*()_+{}:@~<>?|')


#: a person's pace between keys: slower than a wedge scanner's burst, so the scanner
#: filter (ui/scanner.py) leaves the keys to the focused field
PERSON_MS = 45


def type_text(widget: QWidget, text: str, delay_ms: int = PERSON_MS) -> None:
    """Each character as its own key press; capitals and shifted symbols with Shift."""
    for ch in text:
        modifier = Qt.KeyboardModifier.ShiftModifier if ch in SHIFTED else Qt.KeyboardModifier.NoModifier
        QTest.keyClick(widget, ch, modifier, delay_ms)


def press(widget: QWidget, key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    QTest.keyClick(widget, key, modifier)
