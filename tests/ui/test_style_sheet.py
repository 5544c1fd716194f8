"""The product's style sheet, looked at pixel by pixel where a rule was missing.

Seen by a person at the keyboard: a disabled danger button ("Close shift F8" with no
shift open) kept its red text and looked pressable, and every combo box's drop-down
arrow was a stub with a stray line at its left."""

from __future__ import annotations

from PySide6.QtGui import QImage
from PySide6.QtWidgets import QComboBox, QPushButton, QVBoxLayout, QWidget

from ui.main import application


def _reddish(image: QImage) -> int:
    count = 0
    for y in range(image.height()):
        for x in range(image.width()):
            c = image.pixelColor(x, y)
            count += c.red() > 150 and c.green() < 90 and c.blue() < 90
    return count


def _shown(qtbot, *widgets: QWidget) -> QWidget:  # type: ignore[no-untyped-def]
    application()
    host = QWidget()
    layout = QVBoxLayout(host)
    for w in widgets:
        layout.addWidget(w)
    host.resize(420, 80 * len(widgets))
    qtbot.addWidget(host)
    host.show()
    qtbot.waitExposed(host)
    return host


def test_a_disabled_danger_button_is_not_red(qtbot) -> None:  # type: ignore[no-untyped-def]
    live, dead = QPushButton("Close shift  F8"), QPushButton("Close shift  F8")
    for b in (live, dead):
        b.setProperty("kind", "danger")
    dead.setEnabled(False)
    host = _shown(qtbot, live, dead)  # noqa: F841 (kept alive while grabbed)
    assert _reddish(live.grab().toImage()) > 20  # the rule still applies when enabled
    assert _reddish(dead.grab().toImage()) == 0


def test_a_combo_box_shows_a_whole_drop_down_arrow(qtbot) -> None:  # type: ignore[no-untyped-def]
    combo = QComboBox()
    combo.addItems(["Cash", "Card"])
    host = _shown(qtbot, combo)  # noqa: F841 (kept alive while grabbed)
    image = combo.grab().toImage()
    w, h = image.width(), image.height()
    # the arrow: dark pixels in the button's middle, away from its border line
    dark = [(x, y) for x in range(w - 30, w - 4) for y in range(h // 4, 3 * h // 4)
            if image.pixelColor(x, y).lightness() < 120]
    assert len(dark) >= 6, f"no arrow drawn in the drop-down button ({len(dark)} dark pixels)"
    xs = {x for x, _ in dark}
    assert max(xs) - min(xs) >= 6  # a chevron's width, not a one-pixel stub line
