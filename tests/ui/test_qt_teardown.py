"""The UI tests' teardown (tests/ui/conftest.py): Qt objects a test leaves in reference
cycles are freed on the GUI thread, and a Qt object deleted on another thread fails the
test that did it. Each case runs in a pytest of its own: without the teardown the first
one dies of a segmentation fault, as a CI worker did (helper D's notes, 2026-12-04)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# A Python-owned QObject with a running timer, kept alive only by a reference cycle:
# only the cyclic collector frees it, in whichever thread sets a collection off.
HOLDER = '''
import gc, threading
from PySide6.QtCore import QObject, QTimer


class Holder(QObject):
    def __init__(self, ms):
        super().__init__()
        self.me = self
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(lambda: None)
        self.timer.start(ms)


def collect_on_a_worker_thread():
    worker = threading.Thread(target=gc.collect)
    worker.start()
    worker.join()
'''

LEFT_BY_AN_EARLIER_TEST = HOLDER + '''

def test_leaves_a_cycle(qapp):
    Holder(300)


def test_a_later_test_collects_on_its_worker_thread(qtbot):
    collect_on_a_worker_thread()
    qtbot.wait(800)  # the timer's time: it fires on freed memory if it was freed there
'''

DELETED_ON_A_WORKER_THREAD = HOLDER + '''

def test_frees_a_timer_on_a_worker_thread(qapp):
    gc.disable()
    try:
        Holder(60_000)
        collect_on_a_worker_thread()
    finally:
        gc.enable()
'''


def _pytest(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    test = tmp_path / "test_inner.py"
    test.write_text(source, encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.ui.conftest",
         "--rootdir", str(tmp_path), "-c", os.devnull, str(test)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_a_cycle_left_by_a_test_is_freed_on_the_gui_thread(tmp_path: Path) -> None:
    done = _pytest(tmp_path, LEFT_BY_AN_EARLIER_TEST)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "2 passed" in done.stdout


def test_a_qt_object_deleted_on_a_worker_thread_fails_the_test(tmp_path: Path) -> None:
    done = _pytest(tmp_path, DELETED_ON_A_WORKER_THREAD)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert "1 error" in done.stdout
    assert "A Qt object was used or deleted on a thread other than its own" in done.stdout
    assert "Timers cannot be stopped from another thread" in done.stdout
