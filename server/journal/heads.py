"""The tills' own chain heads, carried by their pushes into the server's journal.

A push may name the till's audit chain head (``journal_head``: the seq and hash of its
last audit entry, app/store/audit.py). When it moved since the last one recorded for
that till, the server writes a ``journal.head`` entry to the organization's journal
(chained like every entry) and keeps it as the till's latest. From then on the till's
journal up to that entry can be compared with what the server holds: an entry of the
till's chain edited, removed or reordered afterwards changes the hash at that seq. A
head that goes back (a restored backup) or names another hash at a seq already
recorded is written with ``went_back`` and logged.
"""

from __future__ import annotations

import logging
from typing import Protocol

from sqlalchemy import select

from server.context import AppContext, TerminalPrincipal
from server.db.base import utcnow
from server.db.commerce import AuditEntry
from server.db.journal import TerminalJournalHead

log = logging.getLogger("tillsync.server.journal")
ACTION = "journal.head"


class JournalHead(Protocol):
    """A push's ``journal_head`` (sync.protocol.JournalHead)."""

    seq: int
    hash: str


def record_head(ctx: AppContext, terminal: TerminalPrincipal, head: JournalHead) -> bool:
    """Record the till's head if it moved (one read when it did not); True if written."""
    if terminal.terminal_id is None:
        return False
    with ctx.reader() as s:
        last = s.get(TerminalJournalHead, terminal.terminal_id)
        if last is not None and (last.seq, last.hash) == (head.seq, head.hash):
            return False
    with ctx.writer.begin() as s:
        row = s.get(TerminalJournalHead, terminal.terminal_id)
        previous = None if row is None else {"seq": row.seq, "hash": row.hash}
        went_back = row is not None and head.seq <= row.seq
        if row is None:
            s.add(TerminalJournalHead(terminal_id=terminal.terminal_id, org_id=terminal.org_id,
                                      seq=head.seq, hash=head.hash))
        else:
            row.seq, row.hash, row.recorded_at = head.seq, head.hash, utcnow()
        s.add(AuditEntry(
            org_id=terminal.org_id, store_id=terminal.store_id, entity_type="terminal",
            entity_id=terminal.terminal_id, action=ACTION, device_id=terminal.terminal_id,
            changes={"seq": head.seq, "hash": head.hash, "previous": previous}
            | ({"went_back": True} if went_back else {})))
    if went_back:
        log.warning("terminal %s sent journal head %d after %s: its journal went back "
                    "(a restored backup?) or was rewritten", terminal.terminal_id, head.seq,
                    previous)
    return True


def latest_head(ctx: AppContext, terminal_id: str) -> tuple[int, str] | None:
    """(seq, hash) of the till's last recorded head."""
    with ctx.reader() as s:
        row = s.execute(select(TerminalJournalHead.seq, TerminalJournalHead.hash)
                        .where(TerminalJournalHead.terminal_id == terminal_id)).first()
    return None if row is None else (int(row.seq), str(row.hash))


#: at most this many heads are answered (the newest), enough for weeks of pushes
MAX_HEADS = 5000


def heads_since_went_back(ctx: AppContext, terminal_id: str) -> list[tuple[int, str]]:
    """(seq, hash) of every head of the till the server's journal holds since the last one
    that went back (a restore starts a new line of heads), oldest first."""
    with ctx.reader() as s:
        rows = s.scalars(select(AuditEntry.changes).where(
            AuditEntry.entity_type == "terminal", AuditEntry.entity_id == terminal_id,
            AuditEntry.action == ACTION).order_by(AuditEntry.id.desc()).limit(MAX_HEADS)).all()
    out: list[tuple[int, str]] = []
    for changes in rows:
        if not isinstance(changes, dict):
            continue
        out.append((int(changes.get("seq", 0)), str(changes.get("hash", ""))))
        if changes.get("went_back"):
            break
    return out[::-1]
