"""A list table that fits its width: text columns share it and wrap, rows re-fit.

At 1024x768 a list whose long columns are sized to their contents runs off the right
edge (Conflicts hid "Server has" behind a scroll bar), and a row sized once keeps its
height when the window narrows, so wrapped text ends in "…" with the rest only in a
tooltip (Refused ops, issue 21). Here the short columns take their contents' width, the
text columns split the rest and wrap, and every row is re-fitted when a column changes
width, so nothing needs a hover or a sideways scroll to be read.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QHeaderView, QTableWidget


def fit_to_width(table: QTableWidget, text_columns: tuple[int, ...]) -> None:
    """Short columns to contents; ``text_columns`` share the rest and wrap; rows follow."""
    header = table.horizontalHeader()
    for col in range(table.columnCount()):
        mode = QHeaderView.ResizeMode.Stretch if col in text_columns else QHeaderView.ResizeMode.ResizeToContents
        header.setSectionResizeMode(col, mode)
    table.setWordWrap(True)
    table.setTextElideMode(Qt.TextElideMode.ElideNone)
    table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    timer = QTimer(table)  # one re-fit after a burst of section resizes, not one per section
    timer.setSingleShot(True)
    timer.setInterval(0)
    timer.timeout.connect(table.resizeRowsToContents)
    header.sectionResized.connect(lambda *_: timer.start())
