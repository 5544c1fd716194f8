"""A stopped background sync says nothing more: the "round hung" watchdog of a round in
flight stops with it (ui/sync_runner.py), not when the cancelled round's clean-up runs on
the event loop, which after the app closed may be never."""

from __future__ import annotations

import asyncio

import pytest

from sync.client import SyncClient
from sync.status import SyncStatus
from ui.sync_runner import BackgroundSync


def _status(syncing: bool) -> SyncStatus:
    return SyncStatus(online=True, enrolled=True, waiting=2, rejected=0, conflicts=0, last_sync=None,
                      message=None, syncing=syncing)


@pytest.mark.parametrize("stop", ["stop_now", "stop"])
def test_a_stopped_sync_says_nothing_more(qapp, qtbot, store, monkeypatch, stop):
    from ui import sync_runner
    from ui.ops import Ops

    monkeypatch.setattr(sync_runner, "HUNG_AFTER_S", 0.2)
    ops = Ops()
    sync = BackgroundSync(store, ops, lambda: SyncClient("http://127.0.0.1:9", "t"), parent=ops)
    seen: list[SyncStatus] = []
    sync.status_changed.connect(seen.append)
    sync._on_status(_status(syncing=True))  # a round starts and the app closes under it
    assert sync._hung.isActive()
    if stop == "stop_now":
        sync.stop_now()
    else:
        asyncio.run(sync.stop())
    assert not sync._hung.isActive()
    qtbot.wait(600)  # three times the watchdog's time
    assert [s.online for s in seen] == [True]  # no "Offline: the server has not answered"
