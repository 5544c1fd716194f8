"""Stock movements: deltas commute, so they never conflict; going negative is only a flag.

Exact counts (app/domain/stock_rules.py): :func:`apply_count` writes the movement that
makes the ledger up to the count's moment equal the count and remembers that moment on
the level (``counted_at``); :func:`apply_delta` compensates a movement dated at or
before it (it arrived after the count), with a ``count_fix`` movement dated at the
count. The bulk sale writer does the same in order_decision._stock.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, literal, null, select
from sqlalchemy.orm import Session

from app.domain import stock_rules
from app.domain.ids import new_id
from app.domain.operations import Entity
from server.db.base import utcnow
from server.db.models import Order, OrderLine, StockLevel, StockMovement
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
    """The store's ledger of a product up to ``moment``."""
    return ledger(oc.session, oc.terminal.store_id, product_id, moment)


def ledger(session: Session, store_id: str, product_id: str, moment: datetime) -> int:
    """A store's ledger of a product up to ``moment``: its stock_movements rows (the
    index on store, product, created_at serves them) and the sale movements that are
    order lines (migration 0021: ``stock_after_milli`` set; the partial index on the
    lines' product, then each line's order by key for its store and time)."""
    rows = session.scalar(
        select(func.coalesce(func.sum(StockMovement.qty_delta_milli), 0))
        .where(StockMovement.store_id == store_id,
               StockMovement.product_id == product_id,
               StockMovement.created_at <= moment)) or 0
    sold = session.scalar(sold_by_lines(store_id, product_id, moment)) or 0
    return int(rows) - int(sold)


def sold_by_lines(store_id: str, product_id: str, moment: datetime) -> Select[int]:
    """The quantity of a product a store's sales that are order lines took up to
    ``moment`` (what :func:`ledger` subtracts). The product's lines first (the partial
    index), each one's order by key: as a join, SQLite (no statistics) would rather
    walk the store's orders by time, all of them for a count of today."""
    of_store = (select(Order.id).where(Order.id == OrderLine.order_id,
                                       Order.store_id == store_id, Order.created_at <= moment)
                .exists())
    return (select(func.coalesce(func.sum(OrderLine.qty_milli), 0))
            .where(OrderLine.product_id == product_id, OrderLine.stock_after_milli.is_not(None),
                   of_store))


#: a stock_movements row's columns, in the table's order
MOVEMENT_COLUMNS = tuple(c.key for c in StockMovement.__table__.columns)


def movements(session: Session, store_id: str, product_id: str | None = None
              ) -> list[dict[str, Any]]:
    """Every movement of a store's ledger (of one product), each as its row's values
    (a dict of :data:`MOVEMENT_COLUMNS`), ordered by time then id: the stock_movements
    rows and the sale movements that are order lines (migration 0021), a line's as the
    row it would have been (id: the line's; store, time, reference, actor and till: the
    order's; kind 'sale'; qty_delta_milli: -qty_milli; qty_after_milli: the level
    after it)."""
    m = StockMovement
    rows = select(*(getattr(m, c) for c in MOVEMENT_COLUMNS)).where(m.store_id == store_id)
    lines = (select(OrderLine.id, Order.org_id, Order.store_id, OrderLine.product_id,
                    literal(stock_rules.SALE).label("kind"), (-OrderLine.qty_milli).label("delta"),
                    OrderLine.stock_after_milli, null().label("reason"), Order.reference,
                    Order.created_by, Order.device_id, Order.created_at)
             .join(Order, Order.id == OrderLine.order_id)
             .where(OrderLine.stock_after_milli.is_not(None), Order.store_id == store_id))
    if product_id is not None:
        rows = rows.where(m.product_id == product_id)
        lines = lines.where(OrderLine.product_id == product_id)
    out = [dict(zip(MOVEMENT_COLUMNS, r, strict=True))
           for stmt in (rows, lines) for r in session.execute(stmt)]
    out.sort(key=lambda r: (r["created_at"], r["id"]))
    return out


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
