"""Lining the till up with the server after either side was restored from a backup.

Why: the till numbers its operations (``op_seq``) and its receipts (``GO-<code><n>``)
itself. A till restored from a backup would number its next sale as one it already
sent (the server refuses the op_seq as used, and the receipt repeats a reference); a
server restored from a backup has lost operations the till already saw acknowledged
(the till would never send them again). The server says where it stands for this
device (``GET /sync/position``, and ``device_seq`` on every pull answer), and:

- **the till is behind** (server's last op_seq > the till's own counter): its own
  waiting operations the server does not hold under their op_seq move after the
  server's (same op_ids, so nothing is applied twice), its receipt counter moves past
  the server's last reference (a waiting sale whose reference the server already holds
  gets the next free one, with an audit entry), and the next pull loads a snapshot: the
  orders the server holds but the backup lacks come back;
- **the server is behind** (its last op_seq < the highest one the till saw answered):
  every operation after it is queued again, unchanged, whatever its local status (the
  outbox keeps answered operations, payloads and all), and the next pull loads a
  snapshot (the till's cursor is ahead of the restored feed).

docs/backup-restore.md tells the operator's side.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import Session, attributes

from app.domain.ids import order_reference, parse_reference
from app.domain.operations import OpType
from app.store import audit
from app.store.backup import RESTORED
from app.store.local import LocalStore
from app.store.models import Device, Order, OutboxOperation, StockMovement
from sync import state
from sync.client import PermanentError, SyncClient
from sync.protocol import DevicePosition

POSITION_PAGE = 500
RENUMBERED = "order.reference_renumbered"


@dataclass
class RecoveryReport:
    """What lining up did (all zero / None when both sides agreed)."""

    server_seq: int = 0
    till_restored: bool = False
    server_restored: bool = False
    resent: int = 0  # server restored: operations queued again
    renumbered: int = 0  # till restored: own waiting ops moved after the server's
    references: list[tuple[str, str]] = field(default_factory=list)  # (old, new)


@dataclass
class LocalPosition:
    op_seq: int  # the device's counter: the last op_seq it gave out
    acknowledged: int  # the highest op_seq the server answered


def local_position(store: LocalStore) -> LocalPosition:
    with store.db.read() as s:
        seq = s.scalar(select(Device.op_seq).where(Device.id == store.device_id)) or 0
        acked = s.scalar(select(func.max(OutboxOperation.op_seq))
                         .where(OutboxOperation.status != "pending")) or 0
    return LocalPosition(int(seq), int(acked))


def out_of_line(local: LocalPosition, server_seq: int | None) -> bool:
    """Whether the server's op_seq for this device says one side was restored."""
    return server_seq is not None and (server_seq > local.op_seq
                                       or server_seq < local.acknowledged)


async def check(store: LocalStore, client: SyncClient) -> RecoveryReport | None:
    """Ask the server where it stands and line up; None from a server without
    ``/sync/position`` (older than this protocol field)."""
    try:
        pos = await client.position()
    except PermanentError as exc:
        if exc.status == 404:
            return None
        raise
    return await line_up(store, client, pos)


def restored_here(store: LocalStore) -> bool:
    """Whether ``tillsync restore`` put a backup in place since the last line-up."""
    with store.db.read() as s:
        return state.get_state(s, RESTORED) is not None


def _done_restoring(store: LocalStore) -> None:
    with store.db.write() as s:
        state.del_state(s, RESTORED)


async def line_up(store: LocalStore, client: SyncClient, pos: DevicePosition) -> RecoveryReport:
    await asyncio.to_thread(_done_restoring, store)
    local = await asyncio.to_thread(local_position, store)
    report = RecoveryReport(server_seq=pos.last_applied_seq)
    if pos.last_applied_seq > local.op_seq:
        held = await _server_ops(store, client, pos.last_applied_seq)
        await asyncio.to_thread(continue_after_server, store, pos, held, report)
    elif pos.last_applied_seq < local.acknowledged:
        await asyncio.to_thread(resend_after, store, pos.last_applied_seq, report)
    return report


def _waiting() -> ColumnElement[bool]:
    """Ops the server has not applied: pending ones, and ones it refused because their
    op_seq was another op's (a till restored without ``tillsync restore`` pushed them)."""
    return or_(OutboxOperation.status == "pending",
               and_(OutboxOperation.status == "rejected",
                    OutboxOperation.last_error.like("op_seq % was already used%")))


def _first_waiting(store: LocalStore, upto: int) -> int | None:
    with store.db.read() as s:
        return s.scalar(select(func.min(OutboxOperation.op_seq)).where(
            _waiting(), OutboxOperation.op_seq <= upto))


async def _server_ops(store: LocalStore, client: SyncClient, server_seq: int) -> dict[int, str]:
    """{op_seq: op_id} the server applied over the till's waiting ops' op_seqs."""
    first = await asyncio.to_thread(_first_waiting, store, server_seq)
    held: dict[int, str] = {}
    if first is None:
        return held
    local = await asyncio.to_thread(local_position, store)
    after = first - 1
    while after < min(local.op_seq, server_seq):
        page = await client.position(after, POSITION_PAGE)
        held.update((o.op_seq, o.op_id) for o in page.ops)
        after += POSITION_PAGE
    return held


def continue_after_server(store: LocalStore, pos: DevicePosition, held: dict[int, str],
                          report: RecoveryReport) -> None:
    """The till was restored: its waiting ops whose op_seq the server gave another op move
    after the server's last; its counters go past the server's; a snapshot is due."""
    server_seq = pos.last_applied_seq
    report.till_restored = True
    now = datetime.now(UTC)
    with store.db.write() as s:
        device = s.get(Device, store.device_id)
        assert device is not None
        moved = [row for row in s.scalars(
            select(OutboxOperation).where(_waiting(), OutboxOperation.op_seq <= server_seq)
            .order_by(OutboxOperation.op_seq)) if held.get(row.op_seq) != row.op_id]
        for i, row in enumerate(moved, start=1):  # above every local op_seq: never a clash
            row.op_seq = server_seq + i
            row.status, row.last_error = "pending", None
        report.renumbered = len(moved)
        device.op_seq = max(device.op_seq, server_seq + len(moved))
        _new_references(s, device, moved, pos.last_reference, report, now)
        state.set_state(s, state.RESYNC, "till restored")


def _counter_of(reference: str | None, code: str) -> int:
    parsed = parse_reference(reference or "")
    return parsed[1] if parsed is not None and parsed[0] == code else 0


def _new_references(s: Session, device: Device, moved: list[OutboxOperation],
                    server_reference: str | None, report: RecoveryReport, now: datetime) -> None:
    """Give each moved sale whose reference the server may hold the next free reference."""
    server_counter = _counter_of(server_reference, device.code)
    counter = max(device.order_counter, server_counter)
    for row in moved:
        if row.type != OpType.ORDER_CREATE.value:
            continue
        order = s.get(Order, row.entity_id)
        if order is None or _counter_of(order.reference, device.code) > server_counter:
            continue
        counter += 1
        old, new = order.reference, order_reference(device.code, counter)
        order.reference = new
        row.payload = {**row.payload, "reference": new}
        attributes.flag_modified(row, "payload")
        s.execute(update(StockMovement).where(StockMovement.order_id == order.id)
                  .values(reference=new))
        audit.append(s, device, at=now, actor_id=device.id, action=RENUMBERED,
                     entity_type="order", entity_id=order.id,
                     changes={"reference": {"before": old, "after": new}},
                     reason="the till was restored from a backup; the server holds this "
                            "reference already")
        report.references.append((old, new))
    device.order_counter = counter


def resend_after(store: LocalStore, server_seq: int, report: RecoveryReport) -> None:
    """The server was restored: every op after its last one is queued again, unchanged."""
    report.server_restored = True
    with store.db.write() as s:
        result = s.execute(
            update(OutboxOperation)
            .where(OutboxOperation.op_seq > server_seq, OutboxOperation.status != "pending")
            .values(status="pending", last_error=(
                f"resent: the server was restored and is missing op_seq {server_seq + 1} on")))
        report.resent = int(getattr(result, "rowcount", 0) or 0)
        state.set_state(s, state.RESYNC, "server restored")
