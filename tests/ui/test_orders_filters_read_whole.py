"""The orders page's filters read whole at 1024x768 and 1366x768 (helper K's walk,
issue 21): at 1024 the type filter showed 'Offline and c'."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QComboBox, QStyle, QStyleOptionComboBox

from tests.ui.conftest import settle, sign_in
from tests.ui.keys import press
from tests.ui.test_till_fit_words import _text_room

TITLE_BAR = 32


def _combo_room(combo: QComboBox) -> int:
    option = QStyleOptionComboBox()
    combo.initStyleOption(option)
    field = combo.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, option,
                                         QStyle.SubControl.SC_ComboBoxEditField, combo)
    return field.width()


@pytest.mark.parametrize("width", (1024, 1366))
def test_every_filter_choice_reads_whole(desktop, qtbot, tmp_path, width):
    desktop.window.resize(width, 768 - TITLE_BAR)
    sign_in(desktop, qtbot, "1002", "222222")
    desktop.window.show_screen("orders")
    screen = desktop.window.orders_browser
    settle(desktop, qtbot, 80)
    QApplication.processEvents()
    screen.grab().save(str(tmp_path / f"orders-{width}.png"))
    for combo in (screen.status, screen.kind):
        metrics = combo.fontMetrics()
        for i in range(combo.count()):
            text = combo.itemText(i)
            assert metrics.horizontalAdvance(text) <= _combo_room(combo), (text, _combo_room(combo))
    for field in (screen.reference, screen.phone):
        placeholder = field.placeholderText()
        assert field.fontMetrics().horizontalAdvance(placeholder) <= _text_room(field), placeholder
    page = screen.rect()
    for w in (screen.status, screen.kind, screen.date_to, screen.from_server):
        assert page.contains(w.mapTo(screen, w.rect().bottomRight())), w.objectName()
    screen.kind.setFocus()  # the type is still picked by keys
    press(screen.kind, Qt.Key.Key_Down)
    assert screen.kind.currentData() == "offline"
