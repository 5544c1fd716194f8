"""The approver's proof from a real till: app services -> outbox -> push to the real
server (issue 12). A manager's PIN typed in an override proves the deletion; a stolen
till without the PIN, or with a wrong one, cannot. On SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from app.domain import approval_proof
from app.domain.permissions import Action, Role
from app.services import approvals, staff
from app.store.models import OutboxOperation, Staff
from app.store.unit_of_work import Actor
from tests.server.support import PINS
from tests.sync.conftest import BACKENDS, Till


def _code_and_salt(till: Till, role: Role) -> tuple[str, str]:
    with till.store.db.read() as s:
        person = s.get(Staff, till.tenant.staff[role])
        assert person is not None and person.approval_salt, "the feed sends the salt"
        return person.code, person.approval_salt


def _outbox(till: Till, op_type: str) -> list[OutboxOperation]:
    with till.store.db.read() as s:
        rows = list(s.scalars(select(OutboxOperation).where(OutboxOperation.type == op_type)
                              .order_by(OutboxOperation.op_seq)))
        s.expunge_all()
        return rows


@BACKENDS
def test_a_managers_override_at_the_till_is_proven_and_applied(
        till_factory: Callable[..., Till]) -> None:
    till = till_factory()
    sale = till.sell(pay=False)
    assert not till.sync().push.rejected
    code, _ = _code_and_salt(till, Role.MANAGER)
    cashier = staff.sign_in(till.store, _code_and_salt(till, Role.CASHIER)[0], PINS[Role.CASHIER])
    manager = staff.verify_override(till.store, code, PINS[Role.MANAGER], Action.ORDER_DELETE)
    assert manager.approval_key is not None
    approvals.delete_with_override(till.store, cashier, manager, sale.order_id, "customer left")
    [row] = _outbox(till, "order.delete")
    assert row.approval_proof is not None and row.approval_proof["by"] == manager.staff_id
    report = till.sync()
    assert not report.push.rejected, report.push.rejected
    [row] = _outbox(till, "order.delete")
    assert row.status == "done", row.last_error
    # the key was never written: not in the store file, its WAL or the outbox
    key = manager.approval_key
    files = list(till.store.data_dir.glob("tillsync.sqlite*"))
    assert files
    for path in files:
        data = path.read_bytes()
        assert key not in data and key.hex().encode() not in data


@BACKENDS
def test_a_stolen_till_without_the_pin_cannot_delete_in_a_managers_name(
        till_factory: Callable[..., Till]) -> None:
    """No key (the PIN not typed), or the key of a wrong PIN: both rejected in words,
    shown in the outbox, and the queue goes on."""
    till = till_factory()
    first, second = till.sell(pay=False), till.sell(pay=False)
    assert not till.sync().push.rejected
    manager_id = till.tenant.staff[Role.MANAGER]
    _, salt = _code_and_salt(till, Role.MANAGER)
    no_key = Actor(manager_id, "manager person", Role.MANAGER)
    wrong = Actor(manager_id, "manager person", Role.MANAGER,
                  approval_key=approval_proof.derive_key("000000", salt))
    cashier = till.actor(Role.CASHIER)
    approvals.delete_with_override(till.store, cashier, no_key, first.order_id, "void")
    approvals.delete_with_override(till.store, cashier, wrong, second.order_id, "void")
    later = till.sell()
    report = till.sync()
    rows = _outbox(till, "order.delete")
    assert [r.status for r in rows] == ["rejected", "rejected"]
    assert "approval has no proof" in (rows[0].last_error or "")
    assert "does not fit this operation or their current PIN" in (rows[1].last_error or "")
    assert len(report.push.rejected) == 2
    with till.store.db.read() as s:
        sale_op = s.scalars(select(OutboxOperation).where(
            OutboxOperation.entity_id == later.order_id)).one()
        assert sale_op.status == "done"  # one bad op never blocks the queue
