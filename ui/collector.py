"""Keep Python's cyclic garbage collector from pausing the screen.

A full (generation 2) collection walks every object the process tracks, and every
thread waits for it, whichever thread set it off: with the app's modules, Qt wrappers
and SQLAlchemy loaded it took ~120 ms, so a worker reading a page of the orders browser
froze the GUI thread for a frame of that length (benchmarks/notes/analytics.md). Once
the window is up and its deferred imports are in, what is alive then (modules, classes,
the window and its screens) lives for the whole run: it is collected once and frozen
out of later collections (``gc.freeze``), so a full collection walks only what was made
since. Objects made later are collected as before.
"""

from __future__ import annotations

import gc
import logging
import time

log = logging.getLogger(__name__)


def settle() -> float:
    """Collect once, then freeze what survives; returns the milliseconds it took."""
    t0 = time.perf_counter()
    gc.collect()
    gc.freeze()
    took = (time.perf_counter() - t0) * 1000
    log.debug("garbage collected and %d objects frozen in %.0f ms", gc.get_freeze_count(), took)
    return took
