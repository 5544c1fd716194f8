"""Applying pulled changes (feed entries or snapshot entries) to the local store.

:func:`apply_changes` is the one way in, for a feed page, a snapshot page and the
changes held back earlier alike: runs of products and stock levels (sync/apply_bulk.py),
of orders (sync/apply_orders.py) and of stock movements (sync/apply_movements.py) are
written in a few statements (a page's consecutive orders and movements: one run of
each, orders first, since neither writes what the other reads), every other
change by its applier here (staff, stock movements, conflicts, the store's settings)
or in sync/apply_orders.py (approvals, an order a run cannot take), in page order.

All functions take an open write Session: the caller (sync/pull.py) applies a whole
page and advances the cursor in the same transaction, so a crash leaves either the
page and its cursor or neither.

Rules, and why:

- A change never overwrites an entity that has unpushed (pending) local operations:
  the local edit is newer from this till's point of view; it will be pushed and the
  server merges it (or reports a conflict). The skipped change is kept as
  ``deferred:<id>`` and reconsidered once the outbox is clear of that entity.
  ``stock.adjust`` ops do not hold their product: stock is a separate ledger.
- A change older than what we hold (``version`` lower than the local one) is
  ignored, so replaying a page is harmless; an equal version is applied again
  (it may carry a merge of another terminal's edit to a field we did not touch).
- Stock movements are deltas: they are inserted once by id; the ones this terminal
  made itself (its own sales, made locally with other ids) are skipped, except the
  server's compensations (``count_fix``); this terminal's own exact count takes the
  quantity the server moved (app/domain/stock_rules.py).
- Entity types we do not know are skipped, so an older terminal survives a newer
  server.
- Products (one at a time or in runs) and snapshot stock levels: see sync/apply_bulk.py.
- Orders, their refunds and approvals: see sync/apply_orders.py.
- Conflicts go to the local ``conflicts`` table (sync/conflicts.py); a conflict with a
  pending local ``conflict.resolve`` is held back, and a resolved one never reopens.
- An accepted item of the reconciliation list (``stock_review``) is kept once by its key:
  it leaves this till's list too.
- The store's settings (``store``) update the one StoreSettings row, adopting the
  server's store id if the row still has another one. (The till also took the name
  ``store_settings`` until issue 13; no server ever sent it.)
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.domain.operations import CATALOGUE, Entity
from app.store.models import (
    OutboxOperation,
    Product,
    Staff,
    StockMovement,
    StockReview,
    StoreSettings,
)
from sync import conflicts, state
from sync.apply_bulk import Hook, Page, apply_levels, apply_product, apply_products
from sync.apply_context import ApplyContext, as_datetime, is_stale
from sync.apply_movements import apply_movements, movement_row, pulled_action
from sync.apply_orders import apply_approval, apply_order, apply_orders
from sync.apply_shifts import apply_shift
from sync.protocol import Change

#: Ops that never hold the entity they name: their result is a stock movement, a delta
#: in a separate ledger, so a pending one does not hold its product back.
NON_BLOCKING_OPS = tuple(sorted(t.value for t, spec in CATALOGUE.items()
                                if spec.versions is not None
                                and spec.versions.entity is Entity.STOCK_MOVEMENT))
# Payload keys naming another entity an operation changes: the order of a payment or
# refund, the approval an order.delete / refund.create carries out, the conflict resolved.
HELD_PAYLOAD_KEYS = ("order_id", "approval_id", "conflict_id")


def pending_entities(s: Session) -> set[str]:
    """Entities with unpushed operations: the op's entity and the order it is about."""
    rows = s.execute(select(OutboxOperation.entity_id, OutboxOperation.payload).where(
        OutboxOperation.status == "pending", OutboxOperation.type.not_in(NON_BLOCKING_OPS)))
    held: set[str] = set()
    for entity_id, payload in rows:
        held.add(entity_id)
        if isinstance(payload, dict):
            for key in HELD_PAYLOAD_KEYS:
                if isinstance(payload.get(key), str):
                    held.add(payload[key])
    return held


# ---------------------------------------------------------------- staff


def apply_staff(s: Session, ctx: ApplyContext, c: Change) -> bool:
    d = c.data
    person = s.get(Staff, c.entity_id)
    if person is not None and is_stale(person.version, c):
        return False
    if person is None:
        # The server sends no staff code yet; until it does, people sign in by their id.
        person = Staff(id=c.entity_id, code=d.get("code") or c.entity_id, name=d["name"],
                       role=d["role"], pin_hash=d.get("pin_hash") or "")
        s.add(person)
    person.name, person.role = d["name"], d["role"]
    if d.get("code"):
        person.code = d["code"]
    person.pin_hash = d.get("pin_hash") or ""  # argon2: offline PIN sign-in checks it locally
    person.approval_salt = d.get("approval_salt") or None  # the approver proof's key salt
    person.active = bool(d.get("active", True)) and not c.deleted
    person.version = c.version
    return True


# ---------------------------------------------------------------- stock, conflicts, store


def apply_movement(s: Session, ctx: ApplyContext, c: Change) -> bool:
    """One movement (what a run cannot take: sync/apply_movements.py has the rules)."""
    held = s.get(StockMovement, c.entity_id)
    action = pulled_action(held, c, ctx.device_id)
    if action == "update" and held is not None:
        # our own exact count, as the server set it against its ledger at the count
        held.qty_delta_milli, held.synced = c.data["qty_delta_milli"], True
        return True
    if action == "skip":
        return False  # held already, or our own sale or adjustment (in the local ledger)
    if s.get(Product, c.data["product_id"]) is None:
        return False
    s.add(StockMovement(**movement_row(c)))
    return True


def local_on_hand(s: Session, product_id: str) -> int:
    """One product's on-hand in the local ledger (what a snapshot level is set against)."""
    return int(s.scalar(select(func.coalesce(func.sum(StockMovement.qty_delta_milli), 0))
                        .where(StockMovement.product_id == product_id)) or 0)


def apply_conflict(s: Session, ctx: ApplyContext, c: Change) -> bool:
    return conflicts.record_pulled(s, ctx.cipher, c.entity_id, c.data)


STORE_FIELDS = ("name", "address", "tax_id", "currency", "locale", "tax_inclusive",
                "receipt_footer", "till_limits", "recount_share_ppm")


def store_settings_row(s: Session, store_id: str, name: str = "") -> StoreSettings:
    """The terminal's one StoreSettings row, under the server's store id (made if missing)."""
    settings = s.get(StoreSettings, store_id)
    if settings is not None:
        return settings
    other = s.scalars(select(StoreSettings)).first()
    if other is None:
        settings = StoreSettings(id=store_id, name=name or "Store", version=0)
        s.add(settings)
        s.flush()
        return settings
    old_id = other.id
    s.expunge(other)
    s.execute(update(StoreSettings).where(StoreSettings.id == old_id).values(id=store_id)
              .execution_options(synchronize_session=False))
    settings = s.get(StoreSettings, store_id)
    assert settings is not None
    return settings


def update_store_settings(s: Session, store_id: str, data: dict[str, Any],
                          version: int | None) -> bool:
    """Write the server's store settings (enrollment answer or ``store`` change)."""
    settings = store_settings_row(s, store_id, str(data.get("name") or ""))
    if version is not None and settings.version is not None and settings.version > version:
        return False
    for name in STORE_FIELDS:
        if data.get(name) is not None:
            setattr(settings, name, data[name])
    if version is not None:
        settings.version = version
    return True


def apply_store(s: Session, ctx: ApplyContext, c: Change) -> bool:
    return update_store_settings(s, c.entity_id, c.data, c.version)


def apply_stock_review(s: Session, ctx: ApplyContext, c: Change) -> bool:
    """An item of the reconciliation list accepted at a till of the store (this one's own
    comes back too: held already): it leaves this till's list."""
    d = c.data
    key = d.get("key")
    if not isinstance(key, str) or not key or s.get(StockReview, key) is not None:
        return False
    s.add(StockReview(key=key, product_id=str(d.get("product_id") or ""),
                      kind=str(d.get("kind") or ""), note=d.get("note"),
                      actor_id=str(d.get("accepted_by") or ""),
                      accepted_at=as_datetime(d.get("accepted_at")) or datetime.now(UTC)))
    return True


# Keyed by feed entity type (a Change's entity_type is the plain text of an Entity).
APPLIERS: dict[str, Callable[[Session, ApplyContext, Change], bool]] = {
    Entity.PRODUCT: apply_product,  # a product change a run cannot take (sync/apply_bulk.py)
    Entity.STAFF: apply_staff,
    Entity.ORDER: apply_order,  # an order a run cannot take (sync/apply_orders.py)
    Entity.STOCK_MOVEMENT: apply_movement,
    Entity.CONFLICT: apply_conflict,
    Entity.STORE: apply_store,
    Entity.APPROVAL: apply_approval,
    Entity.SHIFT: apply_shift,
    Entity.STOCK_REVIEW: apply_stock_review,
}
# Entity types applied a run at a time (each run of consecutive changes of the type).
RUNS: dict[str, Callable[[Page, list[Change]], None]] = {
    Entity.PRODUCT: apply_products,
    Entity.STOCK_LEVEL: apply_levels,
    Entity.ORDER: apply_orders,
    Entity.STOCK_MOVEMENT: apply_movements,
}
# Runs of these types that meet in a page are applied as if each type's changes were
# one run, in this order (a sale's order and its stock movements alternate in the feed,
# and so do a new product and its opening stock): orders and movements write nothing
# the others read, and read only whether a product exists, which products first can
# only make true sooner (a product's creation precedes what names it in the feed).
INDEPENDENT_ORDER: tuple[str, ...] = (Entity.PRODUCT, Entity.ORDER, Entity.STOCK_MOVEMENT)
INDEPENDENT: frozenset[str] = frozenset(INDEPENDENT_ORDER)
# Entity types a pending local op holds back (not the stock ledger's: deltas add up).
HOLDABLE: frozenset[str] = frozenset({Entity.PRODUCT, Entity.ORDER, Entity.STAFF, Entity.STORE,
                                      Entity.APPROVAL, Entity.CONFLICT, Entity.SHIFT})


def apply_changes(s: Session, ctx: ApplyContext, changes: list[Change],
                  hook: Hook | None = None) -> None:
    """Apply changes in their order (``hook`` is called with each one first): a run of
    products, stock levels, orders or movements in a few statements, any other change by
    its applier. Consecutive products, orders and movements make one run of each
    (INDEPENDENT): within such a stretch the products go (and are seen by ``hook``)
    first, then the orders, then the movements."""
    page = Page(s, ctx, hook, _apply_one)
    for independent, segment in itertools.groupby(changes, key=lambda c: c.entity_type in INDEPENDENT):
        group = list(segment)
        if independent:
            for entity_type in INDEPENDENT_ORDER:
                run_of_type = [c for c in group if c.entity_type == entity_type]
                if run_of_type:
                    RUNS[entity_type](page, run_of_type)
            continue
        for entity_type, same in itertools.groupby(group, key=lambda c: c.entity_type):
            run = RUNS.get(entity_type)
            if run is not None:
                run(page, list(same))
            else:
                for change in same:
                    page.one(change)


def _apply_one(s: Session, ctx: ApplyContext, c: Change) -> None:
    """Apply one change, or defer it when the entity has unpushed local operations."""
    applier = APPLIERS.get(c.entity_type)
    if applier is None:
        ctx.skipped += 1
        return
    if c.entity_type in HOLDABLE and c.entity_id in ctx.pending:
        state.defer(s, c.entity_id, c.model_dump(mode="json"))
        ctx.skipped_pending += 1
        return
    if applier(s, ctx, c):
        ctx.applied += 1
    else:
        ctx.skipped += 1
    s.flush()


def apply_deferred(s: Session, ctx: ApplyContext) -> int:
    """Changes held back for entities whose local operations have all been answered,
    applied like a page (an approval whose order is still missing is held again)."""
    ready = [c for c in map(Change.model_validate, state.deferred(s))
             if c.entity_id not in ctx.pending]
    for change in ready:
        state.del_state(s, state.DEFERRED_PREFIX + change.entity_id)
    before = ctx.applied
    apply_changes(s, ctx, ready)
    return ctx.applied - before
