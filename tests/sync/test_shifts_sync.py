"""A shift opened and closed on a real till reaches the real server through the push, and
the store's other tills apply it from a pull or a snapshot (sync/apply_shifts.py)."""

from __future__ import annotations

from sqlalchemy import select

from app.domain.permissions import Role
from app.services import shifts
from app.store.models import Shift
from server.db.models import Shift as ServerShift
from sync.status import read_status
from tests.sync.conftest import BACKENDS


@BACKENDS
def test_a_tills_shift_syncs_and_the_other_till_applies_it(till_factory, tenant) -> None:
    a, b = till_factory("A"), till_factory("B")
    b.sync()  # B's first sync loads the snapshot; A's shift comes in its next pull
    cashier = a.actor(Role.CASHIER)
    opened = shifts.open_shift(a.store, cashier, float_counted={2000: 2, 500: 2})
    a.sell(price=1200)
    closed = shifts.close_shift(a.store, cashier, 6000, reason="rounding")
    assert (closed.expected_cash, closed.over_short) == (6200, -200)

    report = a.sync()
    assert report.push.rejected == [] and report.push.applied == 3, report.push
    assert read_status(a.store).waiting == 0
    with tenant.server.ctx.reader() as s:
        row = s.get(ServerShift, opened.id)
        assert row is not None
        assert (row.status, row.terminal_id, row.opening_float, row.float_counted) == (
            "closed", a.store.device_id, 5000, {"2000": 2, "500": 2})
        assert (row.counted_cash, row.expected_cash, row.over_short, row.close_reason) == (
            6000, 6200, -200, "rounding")
    with a.store.db.read() as s:
        assert s.get(Shift, opened.id).version == 2  # the server's version, from the answer

    report = b.sync()
    assert report.pull.applied >= 1
    with b.store.db.read() as s:
        [theirs] = s.scalars(select(Shift)).all()
        assert (theirs.id, theirs.device_id, theirs.status, theirs.over_short, theirs.version) == (
            opened.id, a.store.device_id, "closed", -200, 2)
    assert shifts.current_shift(b.store) is None  # A's shift is not B's

    c = till_factory("C")  # enrolled later: its first sync is a snapshot, with the shift
    assert c.sync().pull.snapshot
    with c.store.db.read() as s:
        assert [(sh.id, sh.status, sh.version) for sh in s.scalars(select(Shift))] == [
            (opened.id, "closed", 2)]
