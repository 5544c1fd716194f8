"""Background sync wiring in the desktop: pokes, broadcasts after pulls, the status bar.

The full round trip against a real server is in test_demo_launch.py; these check the
pieces one at a time with real widgets and a real SyncService whose client is never
called (no loop is started).
"""

from __future__ import annotations

from datetime import UTC, datetime

from app.services.changes import Changes
from sync.pull import PullReport
from sync.service import SyncReport
from sync.status import SyncStatus
from tests.ui.conftest import settle
from ui.sync_runner import PULLED


def _unreachable():
    raise AssertionError("no network in these tests")


def _status(**kw) -> SyncStatus:
    base = dict(online=True, enrolled=True, waiting=0, rejected=0, conflicts=0,
                last_sync=datetime(2026, 11, 23, 9, 30, tzinfo=UTC))
    base.update(kw)
    return SyncStatus(**base)


def test_a_local_write_pokes_the_sync_service(desktop):
    sync = desktop.start_sync(_unreachable, start_loop=False)
    pokes = []
    sync.service.poke = lambda: pokes.append(1)
    desktop.ops.broadcast(Changes(orders=True, stock=True, outbox=True))  # a sale
    desktop.ops.broadcast(Changes(catalog=True))  # nothing to push: no poke
    assert pokes == [1]


def test_a_round_that_pulled_changes_refreshes_the_screens(desktop, qtbot):
    sync = desktop.start_sync(_unreachable, start_loop=False)
    seen: list[Changes] = []
    desktop.ops.changed.connect(seen.append)
    loads = []
    desktop.window.signin.load_staff = lambda: loads.append(1)
    sync.service.last_report = SyncReport(pull=PullReport(pulled=3, applied=3))
    sync._on_status(_status())
    assert seen == [PULLED] and loads == [1]  # staff may have changed: sign-in reloads
    sync._on_status(_status())  # the same round reported again: no second broadcast
    sync.service.last_report = SyncReport()  # a round that pulled nothing
    sync._on_status(_status())
    assert seen == [PULLED]
    assert not any(c.outbox for c in seen)  # a pull never pokes the service back


def test_status_bar_shows_online_waiting_last_sync_conflicts_and_clock_skew(desktop, qtbot):
    bar = desktop.window.status
    bar.show_status(_status(waiting=2, conflicts=1, clock_skew_s=900.0))
    assert bar.online.text() == "● Online"
    assert bar.waiting.text() == "2 waiting to sync"
    assert bar.last_sync.text().startswith("Last sync: 23 Nov")
    assert bar.conflicts.text() == "1 conflict" and bar.conflicts.property("state") == "alert"
    assert bar.clock.isVisibleTo(bar) and "15 min behind the server" in bar.clock.text()
    bar.show_status(_status(online=False, waiting=5, message="Offline: connection refused"))
    assert bar.online.text() == "● Offline" and bar.waiting.text() == "5 waiting to sync"
    assert not bar.clock.isVisibleTo(bar)
    assert "connection refused" in bar.online.toolTip()
    bar.show_status(_status(online=False, enrolled=False, last_sync=None))
    assert bar.online.text() == "● Offline (not enrolled)" and bar.last_sync.text() == "Last sync: never"


def test_status_bar_progress_follows_the_first_sync(desktop, qtbot):
    sync = desktop.start_sync(_unreachable, start_loop=False)
    bar = desktop.window.status
    sync._on_progress(0, 2010)
    assert bar.progress.isVisibleTo(bar) and bar.progress.maximum() == 2010
    sync._on_progress(1000, 2010)
    assert bar.progress.value() == 1000
    sync._on_progress(7, None)  # a long feed pull: size unknown, a busy bar
    assert bar.progress.maximum() == 0
    sync.service.last_report = None
    sync._on_status(_status())  # the round ended
    assert not bar.progress.isVisibleTo(bar)


def test_status_bar_reads_the_service_status_once_attached(desktop, qtbot):
    sync = desktop.start_sync(_unreachable, start_loop=False)
    sync.service.online = True  # as after a successful round
    desktop.window.status.refresh()
    settle(desktop, qtbot)
    assert desktop.window.status.online.text() == "● Online"
    sync.service.online = False
    desktop.ops.broadcast(Changes(outbox=True))
    settle(desktop, qtbot)
    assert desktop.window.status.online.text().startswith("● Offline")
