"""Real Qt widgets offscreen over a real SQLite store seeded with the demo catalog."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TILLSYNC_KEY_PASSPHRASE", "x")

import pytest  # noqa: E402
from PySide6.QtCore import QEvent, Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402
from sqlalchemy import select  # noqa: E402

from app.store.models import Barcode, Product  # noqa: E402
from tests.conftest import fresh_store, seed_demo  # noqa: E402


@pytest.fixture(autouse=True)
def _no_settling(monkeypatch):
    """The app freezes what is alive once its window is up (ui/collector.py); a test
    process builds hundreds of windows, and freezing would keep their garbage for good.
    The one test of settling turns it back on."""
    import ui.main

    monkeypatch.setattr(ui.main, "SETTLE_MS", None)


# What Qt prints when a QObject is used or deleted on a thread other than its own (its
# thread's event loop may still hold it: a timer, a socket notifier, posted events, and
# touch freed memory later, often in another test: a worker "crashed while running" that).
WRONG_THREAD = ("from another thread", "in a different thread", "owned by a different thread")


@pytest.fixture(autouse=True)
def _qt_garbage_on_the_gui_thread(request):
    """After each test, the Qt objects it left in reference cycles are freed here, on the
    GUI thread, not by a cyclic collection a later test's worker thread sets off.

    Python's collector runs in whichever thread crosses its threshold: a database lane,
    the WAL checkpointer, a printer thread. A Qt object it frees there (a Desktop's Ops,
    a BackgroundSync and its "round hung" timer, qasync's socket notifiers were seen) is
    deleted on the wrong thread; one with a running timer leaves the GUI thread's event
    dispatcher pointing at freed memory, a segmentation fault when the timer fires
    (tests/ui/test_qt_teardown.py makes one). Qt's warning for it fails the test that
    printed it, noted in the worker's fault log (tests/conftest.py) before any crash."""
    import gc

    from tests.conftest import fault_note, free_qt_garbage_here

    capture = getattr(request.node, "qt_log_capture", None)  # pytest-qt's, gone by teardown
    yield
    # (frozen after: a full collection over all a worker keeps took ~0.1-0.3 s of CPU
    # after each test)
    free_qt_garbage_here()
    gc.enable()  # a Desktop a test left open keeps collection on its GUI-thread timer
    wrong = [r.message for r in getattr(capture, "records", ()) if any(w in r.message for w in WRONG_THREAD)]
    if wrong:
        fault_note(request.config, f"Qt object on the wrong thread in {request.node.nodeid}: "
                                   + " | ".join(wrong))
        pytest.fail("A Qt object was used or deleted on a thread other than its own (a crash "
                    "waiting to happen): " + " | ".join(wrong), pytrace=False)


@pytest.fixture
def store(tmp_path, migrated_store_file):
    """A new store (opened with passphrase "x") with the 300-product demo, as open_store and
    demo.seed make it, from the file migrated once per test process and with the staff's
    PIN hashes made once per process (tests/conftest.py fresh_store, seed_demo)."""
    s = fresh_store(tmp_path / "till", migrated_store_file, passphrase="x")
    seed_demo(s, 300)
    yield s
    s.close()


@pytest.fixture
def desktop(qapp, qtbot, store):
    from ui.main import Desktop, application

    application()
    d = Desktop(store, qapp)
    d.window.show()
    qtbot.waitExposed(d.window)
    d.window.activateWindow()
    yield d
    d.close()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def barcodes(store, n: int = 3) -> list[tuple[str, str]]:
    """(barcode, product name) of ``n`` counted (not weighed) demo products."""
    with store.db.read() as s:
        rows = s.execute(select(Barcode.code, Product.name).join(Product, Product.id == Barcode.product_id)
                         .where(Product.sold_by_weight.is_(False), Product.active)
                         .order_by(Barcode.code).limit(n)).all()
    return [(r[0], r[1]) for r in rows]


def settle(desktop, qtbot, ms: int = 50) -> None:
    """Let background ops finish and their results land."""
    desktop.ops.wait_idle()
    qtbot.wait(ms)
    desktop.ops.wait_idle()


def sign_in(desktop, qtbot, code: str = "1003", pin: str = "3333") -> None:
    screen = desktop.window.signin
    qtbot.waitUntil(lambda: bool(screen._buttons), timeout=5000)
    qtbot.mouseClick(screen._buttons[code], Qt.MouseButton.LeftButton)
    for digit in pin:
        qtbot.mouseClick(screen.pad.findChild(type(screen._buttons[code]), f"pin_{digit}"),
                         Qt.MouseButton.LeftButton)
    qtbot.mouseClick(screen.pad.findChild(type(screen._buttons[code]), "pin_ok"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: desktop.ctx.actor is not None, timeout=5000)


def wedge_burst(text: str, delay_ms: int = 0) -> None:
    """Type ``text`` + Enter the way a wedge scanner does, into whatever has focus.

    With no delay the keys go through the event filter back to back without the
    event loop running in between, as a scanner's burst does; a delay lets other
    work run between keys, which on a loaded machine can exceed the 30 ms burst
    window and turn the scan into typing.
    """
    target = QApplication.focusWidget()
    assert target is not None, "nothing has keyboard focus"
    for ch in text:
        QTest.keyClick(target, ch, Qt.KeyboardModifier.NoModifier, delay_ms)
    QTest.keyClick(target, Qt.Key.Key_Return, Qt.KeyboardModifier.NoModifier, delay_ms)
