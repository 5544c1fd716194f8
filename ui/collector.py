"""Python's cyclic garbage collector, kept to the GUI thread and off the screen's frames.

Two reasons, one module:

1. **Where.** The collector runs in whichever thread allocates past its threshold, and
   the ops lanes (ui/ops.py) allocate the most. A Qt object held only by a reference
   cycle (a screen's helper, a sync runner, qasync's notifiers) freed there is deleted
   off the GUI thread: Qt warns "Timers cannot be stopped from another thread", and a
   timer it still had fires later on freed memory, a segmentation fault (a CI worker
   died so; tests/ui/test_qt_teardown.py makes it happen). So, while the window is up,
   automatic collection is off and the GUI thread collects from a timer, each
   generation when its count passed its threshold: the recipe of pyqtgraph's
   GarbageCollector, Camelot and calibre (:class:`GuiThreadCollector`).
2. **How much.** A full (generation 2) collection walks every object the process
   tracks, and every thread waits for it: with the app's modules, Qt wrappers and
   SQLAlchemy loaded it took ~120 ms, a frame of that length (benchmarks/notes/
   analytics.md). Once the window is up and its deferred imports are in, what is alive
   then lives for the whole run: it is collected once and frozen out of later
   collections (``gc.freeze``, :func:`settle`), so a full collection walks only what was
   made since.
"""

from __future__ import annotations

import gc
import logging
import time

from PySide6.QtCore import QObject, QTimer

log = logging.getLogger(__name__)

CHECK_MS = 1_000  # how often the GUI thread looks at the collector's counts


def settle() -> float:
    """Collect once, then freeze what survives; returns the milliseconds it took."""
    t0 = time.perf_counter()
    gc.collect()
    gc.freeze()
    took = (time.perf_counter() - t0) * 1000
    log.debug("garbage collected and %d objects frozen in %.0f ms", gc.get_freeze_count(), took)
    return took


class GuiThreadCollector(QObject):
    """Automatic collection off while it runs; the GUI thread collects instead.

    Every :data:`CHECK_MS` the generations whose counts passed Python's own thresholds
    are collected, youngest first, as the automatic collector would have (a young
    collection costs well under a millisecond; a full one only as often as Python's
    thresholds allow). :meth:`stop` gives automatic collection back as it was."""

    def __init__(self, parent: QObject | None = None, check_ms: int = CHECK_MS) -> None:
        super().__init__(parent)
        self._thresholds = gc.get_threshold()
        self._was_enabled = gc.isenabled()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.check)
        self._check_ms = check_ms
        self.collections = [0, 0, 0]  # per generation, since start (tests, logs)

    def start(self) -> None:
        gc.disable()
        self._timer.start(self._check_ms)

    def stop(self) -> None:
        self._timer.stop()
        if self._was_enabled:
            gc.enable()

    @property
    def running(self) -> bool:
        return self._timer.isActive()

    def check(self) -> None:
        """Collect the generations Python would have collected by now (on this thread)."""
        first, second, third = self._thresholds
        count0, count1, count2 = gc.get_count()
        if count0 <= first:
            return
        generation = 0
        if count1 > second:
            generation = 2 if count2 > third else 1
        gc.collect(generation)
        self.collections[generation] += 1
