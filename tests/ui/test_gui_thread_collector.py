"""Garbage is collected on the GUI thread while the app runs (ui/collector.py): a Qt
object left in a reference cycle is never freed by a collection a worker thread sets off
(the lanes of ui/ops.py allocate the most), where deleting it would crash the app."""

from __future__ import annotations

import gc
import threading
import weakref

from PySide6.QtCore import QObject, QTimer

from ui.collector import GuiThreadCollector


class _InACycle(QObject):
    """A Python-owned QObject with a running timer, kept alive only by a cycle."""

    def __init__(self) -> None:
        super().__init__()
        self.me = self
        self.timer = QTimer(self)
        self.timer.start(60_000)


def _allocate_on_a_worker_thread() -> None:
    """Many container objects made and dropped: enough to set off automatic collections
    of every generation, were they on."""
    def churn() -> None:
        for _ in range(100):
            junk = [[i] for i in range(2_000)]
            for item in junk:
                item.append(item)  # cycles, so the counts pass every threshold
    worker = threading.Thread(target=churn)
    worker.start()
    worker.join()


def test_a_cycle_is_freed_on_the_gui_thread_not_by_a_workers_allocation(qapp) -> None:
    freed_on: list[str] = []
    collector = GuiThreadCollector()
    collector.start()
    try:
        assert not gc.isenabled()
        weakref.finalize(_InACycle(), lambda: freed_on.append(threading.current_thread().name))
        _allocate_on_a_worker_thread()
        assert freed_on == []  # the worker's allocations collected nothing
        for _ in range(5):  # the timer's checks, run here at once
            collector.check()
        assert freed_on == [threading.main_thread().name]
        assert collector.collections[0] >= 1
    finally:
        collector.stop()
    assert gc.isenabled()


def test_the_running_desktop_collects_on_its_gui_thread(desktop, qtbot) -> None:
    assert desktop.collector.running and not gc.isenabled()
    freed_on: list[str] = []
    weakref.finalize(_InACycle(), lambda: freed_on.append(threading.current_thread().name))
    _allocate_on_a_worker_thread()
    qtbot.waitUntil(lambda: bool(freed_on), timeout=5_000)  # the collector's own timer
    assert freed_on == [threading.main_thread().name]
