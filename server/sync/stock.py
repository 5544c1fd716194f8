"""Stock deltas: they commute, so they never conflict; going negative is only a flag."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from app.domain.ids import new_id
from app.domain.operations import Entity
from server.db.base import utcnow
from server.db.models import StockLevel, StockMovement
from server.feed.serialize import movement_state
from server.sync.common import OpContext


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
    """Add ``delta_milli`` to the store's level of a product and record the movement."""
    store_id = oc.terminal.store_id
    level = oc.session.scalars(
        select(StockLevel)
        .where(StockLevel.store_id == store_id, StockLevel.product_id == product_id)
        .with_for_update()
    ).first()
    if level is None:
        level = StockLevel(store_id=store_id, product_id=product_id, qty_milli=0)
        oc.session.add(level)
    level.qty_milli += delta_milli
    if level.qty_milli < 0 and "negative_stock" not in oc.flags:
        oc.flags.append("negative_stock")
    movement = StockMovement(
        id=movement_id or new_id(), org_id=oc.terminal.org_id, store_id=store_id,
        product_id=product_id, kind=kind, qty_delta_milli=delta_milli,
        qty_after_milli=level.qty_milli, reason=reason, reference=reference,
        actor_id=oc.actor.id, device_id=oc.terminal.terminal_id,
    )
    movement.created_at = created_at or utcnow()
    oc.session.add(movement)
    oc.publish(Entity.STOCK_MOVEMENT, movement.id, 1, movement_state(movement))
    return movement
