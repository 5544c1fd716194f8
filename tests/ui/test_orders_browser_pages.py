"""The orders browser's pages are read and formatted off the GUI thread (issue 15 item 5):
the GUI thread only appends ready texts, so no frame waits on SQL, dates or babel."""

from __future__ import annotations

import gc
import threading

from app.services.orders_browse import OrderRow
from tests.ui.conftest import settle, sign_in
from tests.ui.test_dashboard import shots
from tests.ui.test_manager_flows import make_sale
from ui.screens.orders_browser import Formatter


def test_pages_are_formatted_off_the_gui_thread(desktop, qtbot, store, tmp_path):
    for _ in range(3):
        make_sale(store, paid=True)
    make_sale(store, paid=False, deposit=100)
    ctx = desktop.ctx
    threads: list[str] = []
    money = ctx.money

    def watched(minor: int) -> str:
        threads.append(threading.current_thread().name)
        return money(minor)

    sign_in(desktop, qtbot, "1002", "222222")
    desktop.window.show_screen("orders")
    screen = desktop.window.screens["orders"]
    model = screen.model
    # a fresh formatter: the screen was built before the watch, and its first page may
    # already have filled the old one's amount cache (then nothing would call the watch)
    model._format = Formatter(watched)
    model.reset(screen.current_filter())
    qtbot.waitUntil(lambda: len(model.rows) == 4 and not model.loading, timeout=5000)
    settle(desktop, qtbot)
    assert threads and threading.main_thread().name not in threads
    shown = {model.index(r, 6).data() for r in range(4)}
    assert ctx.money(100) in shown  # the deposit, as paid
    pending = next(r for r in range(4) if model.index(r, 2).data() == "pending")
    assert model.index(pending, 5).data() == ctx.money(model.order(pending).total)
    when = model.order(pending).created_at.astimezone().strftime("%d %b %Y %H:%M")
    assert model.index(pending, 1).data() == when
    # the rows held are plain tuples the cyclic collector stops tracking, so 100,000 of
    # them add nothing to a full collection's pause (a 120 ms frame before, ui/collector.py)
    gc.collect()
    assert not any(gc.is_tracked(row) for row in model.rows)
    assert not any(gc.is_tracked(texts) for texts in model.texts)
    for w, h in ((1024, 768), (1366, 768)):
        desktop.window.resize(w, h)
        settle(desktop, qtbot, 100)
        desktop.window.grab().save(str(shots(tmp_path) / f"orders-browser-{w}x{h}.png"))
        # every column in sight and the reference whole, on a 1024-pixel till too (the
        # page and then the table had scrolled sideways, cutting 'GO-000…')
        assert not screen.view.horizontalScrollBar().isVisible(), (w, h)
        for part in (screen.view, screen.from_server, screen.date_to, screen.kind):
            right = part.mapTo(desktop.window, part.rect().topRight()).x()
            assert right < desktop.window.width(), (w, h, part.objectName(), right)
        metrics = screen.view.fontMetrics()
        assert all(screen.view.columnWidth(0) >= metrics.horizontalAdvance(r.reference)
                   for r in map(OrderRow._make, model.rows))
        assert all(screen.view.columnWidth(c) >= metrics.horizontalAdvance(model.index(0, c).data())
                   for c in (1, 2, 5, 6))
