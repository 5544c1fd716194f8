"""The till's journal for people: check the chain, and the code a receipt carries.

The check reads the whole audit chain of this store file (app/store/audit.py) and says
in words whether it holds, or the first entry that breaks it and how. The receipt code
is a short, checkable digest of a sale as the journals record it (docs/journal.md):
the server recomputes it from its own journal (server/journal/receipts.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.domain.receipt_code import receipt_code, receipt_qr_text
from app.services.sales import SALE_RECORDED
from app.store.audit import chain_head, verify_chain
from app.store.local import LocalStore
from app.store.models import AuditEntry


@dataclass(frozen=True)
class JournalReport:
    """What the check found: how many entries, the head, and the first break if any."""

    entries: int
    head_seq: int
    head_hash: str
    problem: str | None  # "entry 7: edited: its content does not match its hash"

    @property
    def ok(self) -> bool:
        return self.problem is None

    def summary(self) -> str:
        if self.problem is None:
            return (f"The journal holds: {self.entries} entries, last entry {self.head_seq} "
                    f"(hash {self.head_hash[:16]}...)")
        return f"The journal does not hold: {self.problem}"


def check_journal(store: LocalStore) -> JournalReport:
    """Verify this till's audit chain from its first entry to the device's head."""
    with store.db.read() as s:
        problems = verify_chain(s)
        entries = int(s.scalar(select(func.count()).select_from(AuditEntry)) or 0)
        seq, head = chain_head(s)
    return JournalReport(entries, seq, head, str(problems[0]) if problems else None)


def compare_with_server(store: LocalStore, seq: int, digest: str) -> str | None:
    """None if this till's entry ``seq`` has the hash the server's journal holds for it,
    else what is wrong in words (the till's journal went back, or was rewritten)."""
    with store.db.read() as s:
        last, _ = chain_head(s)
        entry = s.scalars(select(AuditEntry).where(AuditEntry.seq == seq)
                          .order_by(AuditEntry.id).limit(1)).first()
    if seq == 0:
        return None
    if entry is None:
        return (f"entry {seq}: removed: the server's journal holds this till's entry {seq}, "
                f"but the till's journal ends at {last} (restored from an older backup?)")
    if entry.hash != digest:
        return (f"entry {seq}: edited: the server's journal holds another hash for it "
                "(the till's journal was rewritten after it synced)")
    return None


def order_receipt_qr(store: LocalStore, order_id: str) -> str | None:
    """The text of the order's receipt QR code (see :func:`receipt_qr_of`)."""
    with store.db.read() as s:
        return receipt_qr_of(s, order_id)


def receipt_qr_of(session: Session, order_id: str) -> str | None:
    """The receipt QR text of an order, from the till's journal entry of the sale (its
    reference and total as recorded then, whatever edits came after), or None when this
    till holds no such entry (an order pulled from another till)."""
    entry = session.scalars(select(AuditEntry).where(
        AuditEntry.entity_id == order_id, AuditEntry.action == SALE_RECORDED,
        AuditEntry.entity_type == "order").limit(1)).first()
    if entry is None:
        return None
    reference = _after(entry.changes, "reference")
    total = _after(entry.changes, "total")
    if not isinstance(reference, str) or not isinstance(total, int):
        return None
    return receipt_qr_text(reference, receipt_code(order_id, reference, total))


def _after(changes: Any, field: str) -> Any:
    value = changes.get(field) if isinstance(changes, dict) else None
    return value.get("after") if isinstance(value, dict) else None
