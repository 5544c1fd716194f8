"""The answer of ``GET /attention`` (and ``GET /attention/terminal``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

AttentionKey = Literal["silent_terminals", "journal", "quarantined", "webhooks_failing"]
JournalState = Literal["ok", "failing", "stale", "never_checked"]


class AttentionItem(BaseModel):
    """One thing to see to: how many, in words."""

    key: AttentionKey = Field(description="silent_terminals, journal, quarantined or "
                              "webhooks_failing; the matching section holds the details")
    count: int = Field(ge=0)
    text: str = Field(description="in words, e.g. \"2 tills not heard from for 1 h\"")


class AttentionSilentTerminal(BaseModel):
    """A terminal (not revoked) the server has not heard from for ``silent_after_s``."""

    terminal_id: str
    name: str
    store_id: str
    device_code: str
    last_seen_at: datetime | None = Field(
        description="its last push or attention fetch; null: never since enrollment")
    enrolled_at: datetime
    silent_for_s: int = Field(ge=0, description="seconds since last_seen_at (or enrollment)")


class AttentionJournal(BaseModel):
    """The latest scheduled check of the organization's journal (docs/journal.md)."""

    state: JournalState = Field(description="ok; failing (the check found a bad entry); "
                                "stale (no check for two intervals); never_checked")
    checked_at: datetime | None = None
    entries: int | None = None
    position: int | None = Field(default=None, description="the first bad entry's seq")
    problem: str | None = Field(default=None, description="the first bad entry and what "
                                "is wrong with it (edited, removed, inserted, reordered)")


class AttentionRejectedOp(BaseModel):
    op_type: str
    device_id: str
    reason: str
    created_at: datetime


class AttentionQuarantine(BaseModel):
    """Operations refused at the server and held in quarantine (status open) for the
    stores asked about; ``GET /sync/quarantine`` (sync.resolve) resubmits or dismisses."""

    open: int = Field(ge=0)
    oldest_at: datetime | None = None
    by_type: dict[str, int] = Field(default_factory=dict)
    latest: list[AttentionRejectedOp] = Field(default_factory=list, description="the newest "
                                              "few, newest first")


class AttentionWebhooks(BaseModel):
    """Webhook deliveries of the organization's events that are failing: given up
    (``failed``) or still being retried after an error (``retrying``)."""

    failed: int = Field(ge=0)
    retrying: int = Field(ge=0)
    last_error: str | None = None
    last_error_at: datetime | None = None


class AttentionOut(BaseModel):
    """What needs attention that only the server knows, for the stores asked about."""

    as_of: datetime = Field(description="when the server read this (UTC)")
    store_ids: list[str] = Field(description="the stores it covers (the caller's scope)")
    silent_after_s: int = Field(description="a terminal is silent after this many seconds")
    items: list[AttentionItem] = Field(description="only what needs seeing to; empty: "
                                       "nothing")
    silent_terminals: list[AttentionSilentTerminal]
    journal: AttentionJournal
    quarantined: AttentionQuarantine
    webhooks: AttentionWebhooks
