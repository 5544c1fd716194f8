"""Guard against PySide6 releases that lose references to None/True/False.

PySide6 6.12.0 under Python 3.11 dropped one reference to ``None`` per call of a void
Qt method; after a few thousand calls the process aborts (``none_dealloc``). A till
makes that many calls in minutes, so such a release must never be installed.
"""

import sys

from PySide6.QtWidgets import QCheckBox, QLineEdit


def test_void_qt_calls_keep_none_and_bools_alive(qtbot):
    edit, box = QLineEdit(), QCheckBox()
    qtbot.addWidget(edit)
    qtbot.addWidget(box)
    before = sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False)
    for i in range(2000):
        edit.setText(str(i))
        box.setChecked(i % 2 == 0)
        box.isChecked()
    after = sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False)
    # Allow small drift from unrelated objects; the bug loses one per call (thousands).
    assert all(b - a < 100 for b, a in zip(before, after, strict=True)), (before, after)
