"""What needs a manager's attention, in one list: each item says how many, in words,
and names the screen where it is fixed (the dashboard and the sidebar badge read it).

Everything here is read from this till's store; a failed print job lives in the print
queue's own file, so the caller (the UI, which may use printing) passes that count in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.domain.operations import Entity, OpType, spec_of
from app.services import inventory, payment_plans, server_attention
from app.store.local import LocalStore
from app.store.models import Approval, Conflict, OutboxOperation
from app.store.models_shifts import Shift

#: operations waiting to sync longer than this are an item (a till offline for long)
WAIT_LIMIT = timedelta(hours=4)


@dataclass(frozen=True)
class AttentionItem:
    key: str  # approvals, conflicts, rejected, overdue, low_stock, print_failed, waiting,
    #           z_over_short; from the server: silent_terminals, server_journal
    count: int
    text: str
    screen: str  # the window's screen key that fixes it
    #: when the server said so (its items: silent_terminals, server_journal); None: now
    as_of: datetime | None = None


@dataclass(frozen=True)
class Attention:
    items: list[AttentionItem]

    @property
    def total(self) -> int:
        return sum(i.count for i in self.items)


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _count(s: Session, stmt: object) -> int:
    return int(s.scalar(stmt) or 0)  # type: ignore[call-overload]


def _rows(s: Session, now: datetime, wait_limit: timedelta) -> dict[str, int]:
    older = (now - wait_limit).astimezone(UTC)
    waiting = select(func.count()).select_from(OutboxOperation).where(
        OutboxOperation.status == "pending", OutboxOperation.created_at < older)
    return {
        "approvals": _count(s, select(func.count()).select_from(Approval)
                            .where(Approval.status == "pending")),
        "conflicts": _count(s, select(func.count()).select_from(Conflict)
                            .where(Conflict.status == "open")),
        "rejected": _count(s, select(func.count()).select_from(OutboxOperation)
                           .where(OutboxOperation.status == "rejected")),
        "waiting": _count(s, waiting),
        "z_over_short": _count(s, select(func.count()).select_from(Shift).where(
            Shift.status == "closed", func.coalesce(Shift.over_short, 0) != 0,
            Shift.closed_at >= (now - timedelta(days=7)).astimezone(UTC))),
    }


WORDS = {
    "approvals": ("approval to decide", "approvals to decide", "approvals"),
    "conflicts": ("sync conflict to resolve", "sync conflicts to resolve", "conflicts"),
    "rejected": ("operation the server refused", "operations the server refused",
                 "rejected_ops"),
    "overdue": ("overdue installment", "overdue installments", "overdue"),
    "low_stock": ("product low in stock", "products low in stock", "inventory"),
    "print_failed": ("print job that failed", "print jobs that failed", "print_queue"),
    "waiting": ("operation unsynced over {h} h", "operations unsynced over {h} h",
                "rejected_ops"),
    "z_over_short": ("shift over or short this week", "shifts over or short this week",
                     "shift"),
}


def needs_attention(store: LocalStore, *, today: date | None = None,
                    now: datetime | None = None, failed_prints: int = 0,
                    wait_limit: timedelta = WAIT_LIMIT) -> Attention:
    """Every item with something to do, in the order a manager would see to them."""
    now = now or datetime.now(UTC)
    today = today or now.astimezone().date()
    with store.db.read() as s:
        counts = _rows(s, now, wait_limit)
    counts["overdue"] = len(payment_plans.overdue_installments(store, today))
    counts["low_stock"] = len(inventory.low_stock(store))
    counts["print_failed"] = failed_prints
    hours = f"{wait_limit.total_seconds() / 3600:g}"
    items = []
    for key, (one, many, screen) in WORDS.items():
        n = counts.get(key, 0)
        if n:
            items.append(AttentionItem(key, n, _plural(n, one, many).format(h=hours), screen))
    return Attention(items + server_items(store, now))


#: the server's items the till shows, and the screen that fixes each (Settings tabs)
SERVER_SCREENS = {"silent_terminals": ("silent_terminals", "sync_health"),
                  "journal": ("server_journal", "journal")}


def server_items(store: LocalStore, now: datetime) -> list[AttentionItem]:
    """What the server last said (GET /attention/terminal, kept by the sync service):
    tills it has not heard from, its journal check failing or stale; each says how fresh."""
    found = server_attention.read(store)
    if found is None:
        return []
    words = server_attention.as_of_words(found.fetched_at, now)
    return [AttentionItem(SERVER_SCREENS[i.key][0], i.count, f"{i.text} (server, {words})",
                          SERVER_SCREENS[i.key][1], found.fetched_at)
            for i in found.items if i.key in SERVER_SCREENS and i.count > 0]


@dataclass(frozen=True)
class RejectedOperation:
    """An operation the server refused, in shop words, with its reason."""

    op_id: str
    op_type: str
    what: str
    reason: str
    created_at: datetime


def describe(op_type: str, payload: dict, reference: str | None, money: object) -> str:
    """"Payment €12.00 on GO-01004K": what a refused operation was, in shop words."""
    fmt = money if callable(money) else str
    ref = reference or "an order this till does not hold"
    amount = payload.get("amount") if isinstance(payload.get("amount"), int) else None
    total = payload.get("total") if isinstance(payload.get("total"), int) else None
    words: dict[str, str] = {
        OpType.ORDER_CREATE: f"Sale {payload.get('reference') or ref}"
                             + (f" of {fmt(total)}" if total is not None else ""),
        OpType.PAYMENT_RECORD: f"Payment {fmt(amount) if amount is not None else ''} on {ref}",
        OpType.REFUND_CREATE: f"Refund {fmt(amount) if amount is not None else ''} on {ref}",
        OpType.ORDER_DELETE: f"Deletion of {ref}",
        OpType.ORDER_UPDATE: f"Edit of {ref}",
        OpType.APPROVAL_REQUEST: f"Request for approval on {ref}",
        OpType.APPROVAL_DECIDE: f"Approval decision on {ref}",
    }
    return " ".join(words.get(op_type, op_type.replace(".", " ").capitalize()).split())


def rejected_operations(store: LocalStore, money: object = None) -> list[RejectedOperation]:
    """Every operation of this till the server refused, newest first."""
    from app.store.models import Order

    with store.db.read() as s:
        ops = list(s.scalars(select(OutboxOperation).where(OutboxOperation.status == "rejected")
                             .order_by(OutboxOperation.op_seq.desc())))
        out = []
        for op in ops:
            payload = op.payload if isinstance(op.payload, dict) else {}
            spec = spec_of(op.type)
            order_id = payload.get("order_id") or (
                op.entity_id if spec is not None and spec.entity is Entity.ORDER else None)
            order = s.get(Order, order_id) if order_id else None
            reason = (op.result or {}).get("reason") or op.last_error or "no reason given"
            out.append(RejectedOperation(op.op_id, op.type, describe(
                op.type, payload, order.reference if order else None, money), str(reason),
                op.created_at))
        return out
