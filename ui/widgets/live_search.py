"""Searching as someone types: wait for a pause in typing, search off the GUI thread,
and show only the answer to the newest query.

The register's and stock screens' scan field (product_search.py) and the catalog
screen's product list share this; each decides what is searched for and how the
answer is shown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer

from ui.ops import Ops

#: The pause in typing after which the search runs.
DELAY_MS = 150


class LiveSearch(QObject):
    """The timing and staleness of one search field.

    ``typed()`` on each edit calls ``search`` (the owner's: it reads the field, then
    ``ask``s or ``drop``s) once typing pauses for ``delay_ms``. ``ask(work, answer)``
    runs ``work`` on the database lane and calls ``answer(result)`` on the GUI thread
    only if no newer ``ask`` or ``drop`` came meanwhile: an answer to a query typed
    over, however late it lands, never replaces a newer one.
    """

    def __init__(self, ops: Ops, search: Callable[[], Any], *, delay_ms: int = DELAY_MS,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ops = ops
        self._seq = 0  # the newest query; answers to older ones are dropped
        self._timer = QTimer(self, singleShot=True, interval=delay_ms)
        self._timer.timeout.connect(search)

    def typed(self, _text: str = "") -> None:
        """The text was edited: search once typing pauses (each edit restarts the wait)."""
        self._timer.start()

    def ask(self, work: Callable[[], Any], answer: Callable[[Any], None]) -> None:
        """Run ``work`` now (a pause still pending is dropped); ``answer`` its result if still newest."""
        seq = self._newest()
        self.ops.run(work, success=lambda result: self._deliver(seq, answer, result))

    def drop(self) -> None:
        """Nothing to search for now: no answer still coming is shown, no pending pause searches."""
        self._newest()

    def _newest(self) -> int:
        self._timer.stop()
        self._seq += 1
        return self._seq

    def _deliver(self, seq: int, answer: Callable[[Any], None], result: Any) -> None:
        if seq == self._seq:
            answer(result)
