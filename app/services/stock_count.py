"""Count sessions: scan the shelf, then commit the whole count at once.

A committed count is one transaction: every counted product's movement, its audit
entry and its ``stock.adjust`` operation (kind ``count``, with the absolute quantity
counted and the moment it was counted), and the count's own row, keyed by the session's
id. A retried commit of the same session (after a crash, a lost answer, a second click)
finds that row and writes nothing: a count never counts twice.

Every counted product is sent, also one whose count matched the till's books: the
server sets the count against its own ledger up to ``counted_at``, which may hold a
sale this till has not pulled yet (app/domain/stock_rules.py). Locally the movement is
what the till's books expected to move; when the server's differs, the pull corrects
it (sync/apply.py), so the till stays a plain sum of the server's movements.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from app.domain import stock_rules
from app.domain.ids import new_id
from app.domain.limits import MAX_REASON
from app.domain.operations import OpType
from app.domain.payloads import StockAdjust
from app.domain.permissions import Action, require
from app.domain.text_rules import too_long
from app.store.base import utcnow
from app.store.local import LocalStore
from app.store.models import Product, StockCount, StockMovement
from app.store.unit_of_work import Actor, mutation


class StockError(ValueError):
    """Stock work that cannot be done as asked; the message is for the stock person."""


class CountError(StockError):
    """A count that cannot be committed as it is."""


def on_hand(session, product_id: str) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(StockMovement.qty_delta_milli), 0))
                              .where(StockMovement.product_id == product_id)) or 0)


def on_hand_by_product():
    """A subquery of (product_id, qty): each product's on-hand, for lists to join."""
    return (select(StockMovement.product_id, func.sum(StockMovement.qty_delta_milli).label("qty"))
            .group_by(StockMovement.product_id).subquery())


@dataclass
class CountedItem:
    product_id: str
    expected_milli: int  # ledger on-hand when first counted
    counted_milli: int = 0
    counted_at: datetime = field(default_factory=utcnow)  # when first counted

    @property
    def difference(self) -> int:
        return self.counted_milli - self.expected_milli


@dataclass
class CountSession:
    """Scans accumulate per product; nothing is written until commit. ``count_id``
    names the count: committing it again writes nothing."""

    store: LocalStore
    reference: str = ""
    items: dict[str, CountedItem] = field(default_factory=dict)
    count_id: str = field(default_factory=new_id)

    def __post_init__(self) -> None:
        if not self.reference:
            self.reference = f"COUNT-{self.count_id[-8:]}"

    def scan(self, product_id: str, qty_milli: int = 1000) -> CountedItem:
        item = self.items.get(product_id)
        if item is None:
            with self.store.db.read() as s:
                item = CountedItem(product_id, on_hand(s, product_id))
            self.items[product_id] = item
        item.counted_milli += qty_milli
        return item

    def set_count(self, product_id: str, qty_milli: int) -> CountedItem:
        item = self.scan(product_id, 0)
        item.counted_milli = qty_milli
        return item

    def differences(self) -> list[CountedItem]:
        return [i for i in self.items.values() if i.difference]


class _Committed(Exception):
    """The count was committed before (inside the write lock): roll back, write nothing."""

    def __init__(self, moved: int) -> None:
        self.moved = moved


def committed(store: LocalStore, count_id: str) -> StockCount | None:
    with store.db.read() as s:
        row = s.get(StockCount, count_id)
        if row is not None:
            s.expunge(row)
        return row


def commit_count(store: LocalStore, actor: Actor, session: CountSession,
                 reason: str = "stock count") -> int:
    """Commit the whole count in one transaction; returns how many products differed from
    the till's books. A count committed before (same ``count_id``) writes nothing."""
    require(actor.role, Action.STOCK_COUNT)
    problem = too_long("The reason", reason, MAX_REASON)
    if problem:
        raise CountError(problem)
    done = committed(store, session.count_id)
    if done is not None:
        session.items.clear()
        return done.moved
    items = list(session.items.values())
    if not items:
        return 0
    try:
        moved = _write(store, actor, session, items, reason)
    except _Committed as again:  # another commit of this count won the write lock
        moved = again.moved
    session.items.clear()
    return moved


def _write(store: LocalStore, actor: Actor, session: CountSession, items: list[CountedItem],
           reason: str) -> int:
    with mutation(store.db, store.device_id, actor, Action.STOCK_COUNT, bulk=True) as m:
        done = m.session.get(StockCount, session.count_id)
        if done is not None:
            raise _Committed(done.moved)
        for item in items:
            if m.session.get(Product, item.product_id) is None:
                raise CountError("A counted product no longer exists; start the count over")
            _line(m, item, session, reason)
        moved = sum(1 for i in items if i.difference)
        m.session.add(StockCount(id=session.count_id, reference=session.reference, reason=reason,
                                 actor_id=actor.staff_id, committed_at=m.at,
                                 products=len(items), moved=moved))
        return moved


def _line(m, item: CountedItem, session: CountSession, reason: str) -> None:
    """One counted product: its movement (what the books expected to move), audit entry
    and operation with the absolute count."""
    before = on_hand(m.session, item.product_id)
    movement_id = new_id()
    m.insert(StockMovement, ({
        "id": movement_id, "product_id": item.product_id, "kind": stock_rules.COUNT,
        "qty_delta_milli": item.difference, "reason": reason, "reference": session.reference,
        "order_id": None, "actor_id": m.actor.staff_id, "device_id": m.device.id,
        "created_at": item.counted_at, "synced": False},))
    m.audit("product", item.product_id,
            {"on_hand_milli": {"before": before, "after": before + item.difference},
             "counted_milli": item.counted_milli, "count_id": session.count_id},
            reason=reason)
    m.emit(OpType.STOCK_ADJUST, item.product_id, StockAdjust(
        movement_id=movement_id, product_id=item.product_id, kind=stock_rules.COUNT,
        qty_delta_milli=item.difference, reason=reason, reference=session.reference,
        created_at=item.counted_at, counted_milli=item.counted_milli,
        count_id=session.count_id))
