"""Issue 21, defect 12: a spin box's arrows are full-size buttons, not stubs."""

from __future__ import annotations

from PySide6.QtWidgets import QSpinBox, QStyle, QStyleOptionSpinBox

from ui.main import application


def test_spin_box_arrows_are_big_enough_to_press(qtbot):
    application()
    spin = QSpinBox()
    qtbot.addWidget(spin)
    spin.resize(200, 52)
    spin.show()
    option = QStyleOptionSpinBox()
    spin.initStyleOption(option)
    for control in (QStyle.SubControl.SC_SpinBoxUp, QStyle.SubControl.SC_SpinBoxDown):
        rect = spin.style().subControlRect(QStyle.ComplexControl.CC_SpinBox, option, control, spin)
        assert rect.width() >= 28 and rect.height() >= 18, (control, rect)
