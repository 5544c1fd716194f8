"""Checking a receipt's code against the server's journal.

The QR code of a receipt reads ``TS1:<reference>:<code>`` (app/domain/receipt_code.py).
The order with that reference in the asker's organization gives the sale's id; its
``order.create`` entry in the journal gives the reference and total recorded when the
sale reached the server; the code made from those three must be the printed one, and
the entry must still hold its place in the chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.operations import OpType
from app.domain.receipt_code import parse_receipt_text, receipt_code
from server.db.commerce import Order
from server.journal.chain import AUDIT, LINKS, contents, link_hash


@dataclass(frozen=True)
class ReceiptCheck:
    """Whether a receipt matches the journal, and why not."""

    matches: bool
    reference: str
    message: str
    order_id: str | None = None
    store_id: str | None = None
    journal_entry: int | None = None  # the entry's place in the organization's chain


def _recorded(changes: Any) -> tuple[Any, Any]:
    after = (changes or {}).get("created", {}).get("after", {}) if isinstance(changes, dict) else {}
    return after.get("reference"), after.get("total")


def check_receipt(session: Session, org_id: str, text: str) -> ReceiptCheck:
    """Check the scanned ``text`` of a receipt of organization ``org_id`` (a bad text
    raises ``ReceiptCodeError`` with words)."""
    reference, code = parse_receipt_text(text)
    order = session.scalars(select(Order).where(Order.org_id == org_id,
                                                Order.reference == reference).limit(1)).first()
    if order is None:
        return ReceiptCheck(False, reference, f"No sale {reference} has reached the server")
    entry = session.execute(select(AUDIT.c.id, AUDIT.c.changes).where(
        AUDIT.c.entity_type == "order", AUDIT.c.entity_id == order.id,
        AUDIT.c.action == OpType.ORDER_CREATE.value).order_by(AUDIT.c.id).limit(1)).first()
    base: dict[str, Any] = {"order_id": order.id, "store_id": order.store_id}
    if entry is None:
        return ReceiptCheck(False, reference, f"The journal holds no sale entry for {reference}",
                            **base)
    place, intact = _place(session, entry.id)
    recorded_ref, total = _recorded(entry.changes)
    if recorded_ref != reference or not isinstance(total, int) \
            or receipt_code(order.id, reference, total) != code:
        return ReceiptCheck(False, reference, f"The receipt does not match the journal's entry "
                            f"for {reference}: it was altered or made up", journal_entry=place,
                            **base)
    if place is None or not intact:
        return ReceiptCheck(False, reference, f"The receipt matches, but the journal's entry for "
                            f"{reference} no longer holds its place in the chain (run "
                            "tillsync-server audit verify)", journal_entry=place, **base)
    return ReceiptCheck(True, reference, f"The receipt matches the journal: sale {reference}, "
                        f"journal entry {place}", journal_entry=place, **base)


def _place(session: Session, audit_id: int) -> tuple[int | None, bool]:
    """(the entry's place in its chain, whether its content still gives the link's hash)."""
    conn = session.connection()
    link = conn.execute(select(LINKS.c.seq, LINKS.c.prev_hash, LINKS.c.hash)
                        .where(LINKS.c.audit_id == audit_id)).first()
    if link is None:
        return None, False
    row = contents(conn, [audit_id]).get(audit_id)
    return link.seq, row is not None and link_hash(link.prev_hash, link.seq, row) == link.hash
