"""Stock movements: deltas commute, so they never conflict; going negative is only a flag.

Exact counts (app/domain/stock_rules.py): :func:`apply_count` writes the movement that
makes the ledger up to the count's moment equal the count and remembers that moment on
the level (``counted_at``); :func:`apply_delta` compensates a movement dated at or
before it (it arrived after the count), with a ``count_fix`` movement dated at the
count. The bulk sale writer does the same in order_decision._stock.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from app.domain import stock_rules
from app.domain.ids import new_id
from app.domain.operations import Entity
from server.db.base import utcnow
from server.db.models import StockLevel, StockMovement
from server.feed.serialize import movement_state
from server.sync.common import OpContext


def locked_level(oc: OpContext, product_id: str) -> StockLevel:
    """The store's level of a product, locked (created at 0 when missing)."""
    store_id = oc.terminal.store_id
    level = oc.session.scalars(
        select(StockLevel)
        .where(StockLevel.store_id == store_id, StockLevel.product_id == product_id)
        .with_for_update()
    ).first()
    if level is None:
        level = StockLevel(store_id=store_id, product_id=product_id, qty_milli=0)
        oc.session.add(level)
    return level


def _movement(oc: OpContext, level: StockLevel, delta_milli: int, kind: str, *,
              movement_id: str | None, reason: str | None, reference: str | None,
              created_at: datetime, device_id: str | None) -> StockMovement:
    level.qty_milli += delta_milli
    if level.qty_milli < 0 and "negative_stock" not in oc.flags:
        oc.flags.append("negative_stock")
    movement = StockMovement(
        id=movement_id or new_id(), org_id=oc.terminal.org_id, store_id=level.store_id,
        product_id=level.product_id, kind=kind, qty_delta_milli=delta_milli,
        qty_after_milli=level.qty_milli, reason=reason, reference=reference,
        actor_id=oc.actor.id, device_id=device_id,
    )
    movement.created_at = created_at
    oc.session.add(movement)
    oc.publish(Entity.STOCK_MOVEMENT, movement.id, 1, movement_state(movement))
    return movement


def apply_delta(
    oc: OpContext,
    product_id: str,
    delta_milli: int,
    kind: str,
    *,
    movement_id: str | None = None,
    reason: str | None = None,
    reference: str | None = None,
    created_at: datetime | None = None,
) -> StockMovement:
    """Add ``delta_milli`` to the store's level of a product and record the movement;
    compensate it when a count made after its date is already in."""
    level = locked_level(oc, product_id)
    dated = created_at or utcnow()
    movement = _movement(oc, level, delta_milli, kind, movement_id=movement_id, reason=reason,
                         reference=reference, created_at=dated,
                         device_id=oc.terminal.terminal_id)
    compensate(oc, level, movement)
    return movement


def compensate(oc: OpContext, level: StockLevel, movement: StockMovement) -> None:
    """The opposite of ``movement``, dated at the level's latest count, when the
    movement is dated at or before that count (it arrived after the count)."""
    if not movement.qty_delta_milli or not stock_rules.needs_compensation(
            movement.created_at, level.counted_at):
        return
    assert level.counted_at is not None
    _movement(oc, level, -movement.qty_delta_milli, stock_rules.COUNT_FIX, movement_id=None,
              reason=stock_rules.late_reason(movement.kind, movement.created_at,
                                             level.counted_at),
              reference=movement.id, created_at=level.counted_at, device_id=None)
    if "compensated_after_count" not in oc.flags:
        oc.flags.append("compensated_after_count")


def ledger_at(oc: OpContext, product_id: str, moment: datetime) -> int:
    """The store's ledger of a product up to ``moment`` (the index on store, product,
    created_at serves it)."""
    return int(oc.session.scalar(
        select(func.coalesce(func.sum(StockMovement.qty_delta_milli), 0))
        .where(StockMovement.store_id == oc.terminal.store_id,
               StockMovement.product_id == product_id,
               StockMovement.created_at <= moment)) or 0)


def apply_count(oc: OpContext, product_id: str, counted_milli: int, counted_at: datetime, *,
                movement_id: str, reason: str | None, reference: str | None
                ) -> tuple[StockMovement, int]:
    """An exact count: the movement that makes the ledger up to ``counted_at`` equal
    ``counted_milli``; a count dated at or before the latest one moves nothing (it is
    superseded). Returns the movement and the ledger up to the count before it."""
    level = locked_level(oc, product_id)
    oc.session.flush()  # the ledger query must see this push's earlier movements
    before = ledger_at(oc, product_id, counted_at)
    if stock_rules.supersedes(counted_at, level.counted_at):
        delta = stock_rules.count_movement(counted_milli, before)
        level.counted_at = counted_at
    else:
        delta = 0
        reason = f"{reason or 'stock count'}: superseded by the later count"
        oc.flags.append("count_superseded")
    movement = _movement(oc, level, delta, stock_rules.COUNT, movement_id=movement_id,
                         reason=reason, reference=reference, created_at=counted_at,
                         device_id=oc.terminal.terminal_id)
    return movement, before
