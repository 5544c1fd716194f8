"""Pulled stock movements in runs: a page's movements looked up in two queries and
written with one executemany, by the rules of the per-change path
(:func:`sync.apply.apply_movement`, app/domain/stock_rules.py ``pulled_movement``).

Why: every sale another till makes comes back as one ``stock_movement`` change per
line, three in four changes of a busy store's feed. One at a time through the ORM (two
gets, an insert and a flush each) they cost about 0.8 ms a change, most of a pull.

A movement that appears twice in the run goes through the per-change path after the
batch before it is written (the second sees the first); nothing else is tangled: a
movement touches only its own row, and the product it names is read, not written.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, bindparam, update

from app.domain import stock_rules
from app.store.models import Product
from sync.apply_bulk import MOVEMENTS, Inserts, Page, fetch, present
from sync.apply_context import as_datetime, stored_time
from sync.protocol import Change

PRODUCTS = Product.__table__
LEDGER = cast(Table, MOVEMENTS)


def movement_row(c: Change) -> dict[str, Any]:
    """A pulled movement's row as stored here (one definition for both paths)."""
    d = c.data
    return {"id": c.entity_id, "product_id": d["product_id"], "kind": d.get("kind") or "adjust",
            "qty_delta_milli": d["qty_delta_milli"], "reason": d.get("reason"),
            "reference": d.get("reference"), "order_id": None, "actor_id": d.get("actor_id"),
            "device_id": d.get("device_id"),
            "created_at": as_datetime(d.get("created_at")) or datetime.now(UTC), "synced": True}


INSERT = Inserts(LEDGER, ("id", "product_id", "kind", "qty_delta_milli", "reason", "reference",
                         "order_id", "actor_id", "device_id", "created_at", "synced"))


def movement_tuple(c: Change) -> tuple[Any, ...]:
    """:func:`movement_row` as the tuple ``INSERT`` writes."""
    d = c.data
    return (c.entity_id, d["product_id"], d.get("kind") or "adjust", d["qty_delta_milli"],
            d.get("reason"), d.get("reference"), None, d.get("actor_id"), d.get("device_id"),
            stored_time(d.get("created_at")), True)


class Held(NamedTuple):
    """A movement this till holds already (what :func:`pulled_action` reads of it)."""

    kind: str
    qty_delta_milli: int


def pulled_action(held: Any, c: Change, device_id: str) -> str:
    """``insert``, ``update`` or ``skip`` for a pulled movement (``held``: the row here)."""
    d = c.data
    return stock_rules.pulled_movement(
        held.kind if held is not None else None,
        held.qty_delta_milli if held is not None else None,
        d.get("kind") or "adjust", d["qty_delta_milli"],
        mine=device_id in (d.get("device_id"), c.origin_device_id))


class _Batch:
    def __init__(self) -> None:
        self.inserts: list[tuple[Any, ...]] = []
        self.updates: list[dict[str, Any]] = []

    def write(self, page: Page) -> None:
        if not self.inserts and not self.updates:
            return
        page.s.flush()
        if self.inserts:
            INSERT.write(page.s, self.inserts)
        if self.updates:
            page.s.execute(update(LEDGER).where(LEDGER.c.id == bindparam("_id"))
                           .values(qty_delta_milli=bindparam("_qty"), synced=True), self.updates)
        self.inserts, self.updates = [], []
        page.s.expunge_all()  # the per-change path must not read a stale object


def apply_movements(page: Page, run: list[Change]) -> None:
    """A run of stock movement changes (see the module doc)."""
    s, ctx = page.s, page.ctx
    s.flush()
    ids = [c.entity_id for c in run]
    held = {mid: Held(kind, qty) for mid, kind, qty in fetch(
        s, LEDGER, ("id", "kind", "qty_delta_milli"), "id", ids)}
    known = present(s, PRODUCTS, "id", [str(c.data.get("product_id")) for c in run])
    met: set[str] = set()
    batch = _Batch()
    for c in run:
        if c.entity_id in met or "product_id" not in c.data or "qty_delta_milli" not in c.data:
            batch.write(page)
            page.one(c)
            continue
        met.add(c.entity_id)
        page.seen(c)
        action = pulled_action(held.get(c.entity_id), c, ctx.device_id)
        if action == "update":
            batch.updates.append({"_id": c.entity_id, "_qty": c.data["qty_delta_milli"]})
        elif action == "skip" or c.data["product_id"] not in known:
            ctx.skipped += 1
            continue
        else:
            batch.inserts.append(movement_tuple(c))
        ctx.applied += 1
    batch.write(page)
