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



def _page_in_the_window(desktop, screen) -> None:
    window = desktop.window
    assert screen.width() <= screen.parentWidget().width(), (screen.width(), screen.parentWidget().width())
    for w in screen.findChildren(type(screen.editor.save_button)):
        if w.isVisible():
            right = w.mapTo(window, w.rect().topRight()).x()
            assert right <= window.width(), (w.text(), right)


@pytest.mark.parametrize("width", (1024, 1366))
def test_an_open_product_keeps_the_page_in_the_window(desktop, qtbot, store, tmp_path, width):
    """At 1024x768 opening 'Riverside Black Tea Organic' widened the page (its name in one
    line), and so did a search finding nothing ('Nothing matches “…”' in one line): Import
    and Export CSV went off the right edge behind a sideways scroll bar, Save was cut."""
    desktop.window.resize(width, 768 - TITLE_BAR)
    screen = open_catalog(desktop, qtbot)
    screen.search.setFocus()
    type_text(screen.search, "Riverside Black Tea Organic Decaf")  # nothing is called that
    press(screen.search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: screen.list_stack.currentWidget() is screen.list_empty, timeout=5000)
    settle(desktop, qtbot, 50)
    QApplication.processEvents()
    _page_in_the_window(desktop, screen)
    name = max((n for _c, n in barcodes(store, 40)), key=len)  # the longest name
    screen.search.selectAll()
    type_text(screen.search, name)
    press(screen.search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: screen.list_stack.currentWidget() is screen.results
                    and screen.results.rowCount() > 0, timeout=5000)
    press(screen.search, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: screen.details is not None, timeout=5000)
    settle(desktop, qtbot, 80)
    QApplication.processEvents()
    desktop.window.grab().save(str(tmp_path / f"catalog-{width}.png"))
    _page_in_the_window(desktop, screen)
    title = screen.editor.title
    assert title.toolTip().startswith(screen.details["name"])
    name_field = screen.editor.fields["name"]
    assert name_field.cursorPosition() == 0  # the name's start shows ('ing Up Liquid Family Pack')
    save = screen.editor.save_button
    metrics = save.fontMetrics()  # its lines and the style sheet's padding: "Save / Ctrl+S" was cut
    assert save.height() >= metrics.lineSpacing() * save.text().count("\n") + metrics.height() + 16, save.height()
    assert title.fontMetrics().horizontalAdvance(title.text()) <= title.contentsRect().width()
