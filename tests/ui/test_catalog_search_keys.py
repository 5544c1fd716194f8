"""The catalog's search by keys (helper K's walk, issue 21): at 1024x768 its hint read
"Search by name or SKU…" (the scan was cut off), and from the search field Down did
nothing and Enter only searched again: no way to the product found without the mouse."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from tests.ui.conftest import barcodes, settle
from tests.ui.keys import press, type_text
from tests.ui.test_catalog_screen import open_catalog
from tests.ui.test_till_fit_words import _text_room

TITLE_BAR = 32


@pytest.mark.parametrize("width", (1024, 1366))
def test_the_search_hint_reads_whole(desktop, qtbot, width):
    desktop.window.resize(width, 768 - TITLE_BAR)
    screen = open_catalog(desktop, qtbot)
    QApplication.processEvents()
    field = screen.search
    hint = field.placeholderText()
    assert "scan" in hint
    assert field.fontMetrics().horizontalAdvance(hint) <= _text_room(field), (hint, _text_room(field))


def test_down_from_the_search_opens_what_it_found(desktop, qtbot, store):
    name = barcodes(store, 1)[0][1]
    word = " ".join(name.split()[:2])
    screen = open_catalog(desktop, qtbot)
    screen.search.setFocus()
    type_text(screen.search, word)  # a person's typing, Shift for the capitals
    qtbot.waitUntil(lambda: screen.search.text() == word, timeout=2000)
    press(screen.search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: screen.list_stack.currentWidget() is screen.results
                    and screen.results.rowCount() > 0, timeout=5000)
    first = screen.results.item(0, 0).text()
    press(screen.search, Qt.Key.Key_Down)
    settle(desktop, qtbot, 80)
    assert QApplication.focusWidget() is screen.results
    qtbot.waitUntil(lambda: screen.details is not None, timeout=5000)
    assert screen.details["name"] == first, (screen.details, first)
