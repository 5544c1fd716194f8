"""Reading an organization's journal back and saying whether it holds.

The links are read in chain order with the audit rows they name and handed to the one
reading of a chain both sides share (app/domain/chain.py); then the organization's
audit rows that no link names (and that no commit is waiting to chain) are looked
for: each is an entry slipped in past the journal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from app.domain.chain import GENESIS, INSERTED, Break, Head, Link, first_break
from server.journal.chain import AUDIT, HEADS, LINKS, PENDING, contents, link_hash


@dataclass(frozen=True)
class Verdict:
    """What one check of an organization's journal found."""

    org_id: str
    entries: int
    head_seq: int
    head_hash: str
    waiting: int  # written by a transaction that has not chained them yet
    found: Break | None

    @property
    def ok(self) -> bool:
        return self.found is None

    @property
    def problem(self) -> str | None:
        return None if self.found is None else str(self.found)

    def summary(self) -> str:
        if self.found is None:
            return (f"organization {self.org_id}: the journal holds ({self.entries} entries, "
                    f"head {self.head_seq} {self.head_hash})")
        return f"organization {self.org_id}: the journal does not hold: {self.found}"


def _link(row: Any, content: Any) -> Link:
    if content is None:
        return Link(row.seq, row.prev_hash, row.hash, intact=False, missing=True)

    def rehash(other: Link) -> str:
        return link_hash(other.prev_hash, other.position, content)

    intact = link_hash(row.prev_hash, row.seq, content) == row.hash
    return Link(row.seq, row.prev_hash, row.hash, intact, rehash=rehash)


def _unlinked(conn: Connection, org_id: str) -> int | None:
    """The first audit row of the organization that no link and no commit names."""
    linked = select(LINKS.c.audit_id).where(LINKS.c.audit_id == AUDIT.c.id)
    waiting = select(PENDING.c.audit_id).where(PENDING.c.audit_id == AUDIT.c.id)
    return conn.scalar(select(func.min(AUDIT.c.id)).where(
        AUDIT.c.org_id == org_id, ~linked.exists(), ~waiting.exists()))


def verify_org(conn: Connection, org_id: str) -> Verdict:
    """Check the organization's whole chain, from its first link to its head."""
    head_row = conn.execute(select(HEADS.c.seq, HEADS.c.hash)
                            .where(HEADS.c.org_id == org_id)).first()
    head = Head(head_row.seq, head_row.hash) if head_row is not None else None
    rows = list(conn.execute(select(LINKS.c.seq, LINKS.c.audit_id, LINKS.c.prev_hash,
                                    LINKS.c.hash).where(LINKS.c.org_id == org_id)
                             .order_by(LINKS.c.seq)))
    content = contents(conn, (r.audit_id for r in rows))
    links = [_link(r, content.get(r.audit_id)) for r in rows]
    found = first_break(links, head)
    if found is None:
        stray = _unlinked(conn, org_id)
        if stray is not None:
            found = Break(0, INSERTED, "it is in no place of the chain",
                          label=f"audit row {stray}")
    waiting = conn.scalar(select(func.count()).select_from(PENDING)
                          .where(PENDING.c.org_id == org_id)) or 0
    return Verdict(org_id, len(rows), head.position if head else 0,
                   head.hash if head else GENESIS, int(waiting), found)


def organizations(conn: Connection) -> list[str]:
    """Every organization that has a journal (a head) or audit entries."""
    heads = set(conn.scalars(select(HEADS.c.org_id)))
    return sorted(heads | set(conn.scalars(select(AUDIT.c.org_id).distinct())))
