"""The journal's tables: the chain over the audit entries, its head per organization,
the entries still waiting for their place, and the results of the checks.

``audit_entries`` itself (server/db/commerce.py) is unchanged: database triggers (made
by migration 0009) refuse its UPDATE and DELETE and put every new row in
``journal_pending``; the commit then gives it its place in its organization's chain
(server/journal/chain.py). docs/journal.md says how it is read.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, utcnow


class JournalLink(Base):
    """One audit entry's place in its organization's chain, in the order entries commit."""

    __tablename__ = "journal_links"

    org_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    audit_id: Mapped[int] = mapped_column(unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class JournalHead(Base):
    """The last link of an organization's chain; its row lock serializes the appends."""

    __tablename__ = "journal_heads"

    org_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    seq: Mapped[int] = mapped_column(default=0)
    hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class JournalPending(Base):
    """An audit entry written in a transaction that has not yet committed its links
    (filled by the insert trigger on audit_entries, emptied at commit)."""

    __tablename__ = "journal_pending"

    audit_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    org_id: Mapped[str] = mapped_column(String(36))


class TerminalJournalHead(Base):
    """The last chain head a till sent with a push (each new one is also a journal entry,
    ``journal.head``, so the server's journal vouches for the till's)."""

    __tablename__ = "journal_terminal_heads"

    terminal_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36))
    seq: Mapped[int]
    hash: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class JournalCheck(Base):
    """The result of one verification of an organization's journal (the scheduled check
    and ``tillsync-server audit verify`` write one; server/journal/status.py reads them)."""

    __tablename__ = "journal_checks"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    org_id: Mapped[str] = mapped_column(String(36), index=True)
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)
    ok: Mapped[bool]
    entries: Mapped[int]
    position: Mapped[int | None] = mapped_column(default=None)  # the first bad entry
    problem: Mapped[str | None] = mapped_column(String(500), default=None)
