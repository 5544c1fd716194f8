"""What needs attention that only the server knows, for a staff member (their stores)
or a terminal (its store): terminals silent for longer than a set time, the journal
check failing or stale, operations quarantined at the server, webhooks failing.

A terminal is "heard from" when it pushes (server/sync/chunk.py) and when it asks for
this list (the till's sync service does every few minutes, sync/attention_pull.py), so
an idle till that is online does not count as silent.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.domain.permissions import Action, allowed
from server.analytics.service import scope
from server.attention import repository as repo
from server.attention.schemas import (
    AttentionItem,
    AttentionJournal,
    AttentionOut,
    AttentionQuarantine,
    AttentionRejectedOp,
    AttentionSilentTerminal,
    AttentionWebhooks,
    JournalState,
)
from server.context import AppContext, StaffPrincipal, TerminalPrincipal
from server.db.base import utcnow
from server.db.retry import with_retries
from server.errors import ApiError
from server.journal import status

log = logging.getLogger("tillsync.server.attention")

#: a terminal not heard from for this long is silent, unless the server's setting
#: ``attention_silent_after_s`` or the request's ``?silent_after_s=`` says otherwise
DEFAULT_SILENT_AFTER_S = 3600
#: a terminal's attention fetch records it as heard from at most this often
HEARD_EVERY = timedelta(seconds=60)
#: given-up webhook deliveries older than this are no longer an item
WEBHOOK_WINDOW = timedelta(days=7)
#: the latest check is stale when older than this many check intervals
STALE_INTERVALS = 2
LATEST = 5


def duration_words(seconds: float) -> str:
    """3600 -> "1 h", 1800 -> "30 min", 172800 -> "2 days"."""
    if seconds >= 86400 and seconds % 86400 == 0:
        days = int(seconds // 86400)
        return f"{days} day" if days == 1 else f"{days} days"
    if seconds >= 3600:
        return f"{seconds / 3600:g} h"
    return f"{max(1, round(seconds / 60))} min"


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=utcnow().tzinfo)


def silent(session: Session, org_id: str, store_ids: list[str], now: datetime,
           after_s: int) -> list[AttentionSilentTerminal]:
    rows = repo.silent_terminals(session, org_id, store_ids, now - timedelta(seconds=after_s))
    return [AttentionSilentTerminal(
        terminal_id=r.id, name=r.name, store_id=r.store_id, device_code=r.device_code,
        last_seen_at=r.last_seen_at, enrolled_at=r.enrolled_at,
        silent_for_s=max(0, int((now - _aware(r.last_seen_at or r.enrolled_at))
                                .total_seconds())))
        for r in rows]


def journal(session: Session, org_id: str, now: datetime, interval_s: float
            ) -> AttentionJournal:
    found = status.latest_result(session, org_id)
    if found is None:
        return AttentionJournal(state="never_checked")
    state: JournalState
    if not found.ok:
        state = "failing"
    elif interval_s > 0 and now - _aware(found.checked_at) > timedelta(
            seconds=STALE_INTERVALS * interval_s):
        state = "stale"
    else:
        state = "ok"
    return AttentionJournal(state=state, checked_at=found.checked_at, entries=found.entries,
                            position=found.position, problem=found.problem)


def quarantine(session: Session, org_id: str, store_ids: list[str]) -> AttentionQuarantine:
    by_type = repo.quarantine_by_type(session, org_id, store_ids)
    if not by_type:
        return AttentionQuarantine(open=0)
    latest = repo.latest_quarantined(session, org_id, store_ids, LATEST)
    return AttentionQuarantine(
        open=sum(n for _t, n, _o in by_type), oldest_at=min(o for _t, _n, o in by_type),
        by_type={t: n for t, n, _o in by_type},
        latest=[AttentionRejectedOp(op_type=r.op_type, device_id=r.device_id,
                                    reason=r.reason, created_at=r.created_at) for r in latest])


def webhooks(session: Session, org_id: str, now: datetime) -> AttentionWebhooks:
    since = now - WEBHOOK_WINDOW
    counts = Counter({s: n for s, n in repo.failing_webhooks(session, org_id, since)})
    out = AttentionWebhooks(failed=counts["failed"], retrying=counts["pending"])
    if out.failed or out.retrying:
        last = repo.last_webhook_error(session, org_id, since)
        if last is not None:
            out.last_error, out.last_error_at = last.last_error, last.next_attempt_at
    return out


def items(out: AttentionOut) -> list[AttentionItem]:
    found: list[AttentionItem] = []
    if out.silent_terminals:
        n = len(out.silent_terminals)
        found.append(AttentionItem(key="silent_terminals", count=n, text=_plural(
            n, "till", "tills") + f" not heard from for over {duration_words(out.silent_after_s)}"))
    j = out.journal
    if j.state == "failing":
        found.append(AttentionItem(key="journal", count=1, text="The server's journal check "
                                   f"failed: {j.problem or 'no detail recorded'}"))
    elif j.state == "stale":
        found.append(AttentionItem(key="journal", count=1, text="The server's journal has not "
                                   f"been checked since {j.checked_at:%Y-%m-%d %H:%M} UTC"))
    if out.quarantined.open:
        found.append(AttentionItem(key="quarantined", count=out.quarantined.open, text=_plural(
            out.quarantined.open, "operation", "operations") + " refused at the server"))
    failing = out.webhooks.failed + out.webhooks.retrying
    if failing:
        found.append(AttentionItem(key="webhooks_failing", count=failing, text=_plural(
            failing, "webhook delivery", "webhook deliveries") + " failing"))
    return found


def read(ctx: AppContext, session: Session, org_id: str, store_ids: list[str],
         silent_after_s: int) -> AttentionOut:
    now = utcnow()
    interval = float(getattr(ctx.settings, "journal_check_interval_s", 3600.0))
    out = AttentionOut(
        as_of=now, store_ids=store_ids, silent_after_s=silent_after_s, items=[],
        silent_terminals=silent(session, org_id, store_ids, now, silent_after_s),
        journal=journal(session, org_id, now, interval),
        quarantined=quarantine(session, org_id, store_ids),
        webhooks=webhooks(session, org_id, now))
    out.items = items(out)
    return out


def silent_after(ctx: AppContext, asked: int | None) -> int:
    return asked or int(getattr(ctx.settings, "attention_silent_after_s", DEFAULT_SILENT_AFTER_S))


def for_staff(ctx: AppContext, staff: StaffPrincipal, store_id: str | None,
              silent_after_s: int | None) -> AttentionOut:
    """The caller's organization, the stores they may read (the shared store scope,
    server/tenancy/scope.py, as the analytics: an owner or admin every store, anyone
    else the stores whose tills they work on)."""
    with ctx.reader() as session:
        stores = scope(session, staff, store_id)
        return read(ctx, session, staff.org_id, stores, silent_after(ctx, silent_after_s))


def _heard(ctx: AppContext, terminal_id: str) -> str | None:
    """Record the terminal as heard from; its role ceiling."""
    now = utcnow()

    def write() -> str | None:
        with ctx.writer.begin() as session:
            repo.heard_from(session, terminal_id, now, now - HEARD_EVERY)
            return repo.terminal_ceiling(session, terminal_id)

    try:
        return with_retries(write)
    except OperationalError:  # the list matters more than the sighting
        log.warning("could not record terminal %s as heard from", terminal_id, exc_info=True)
        with ctx.reader() as session:
            return repo.terminal_ceiling(session, terminal_id)


def for_terminal(ctx: AppContext, terminal: TerminalPrincipal,
                 silent_after_s: int | None) -> AttentionOut:
    """The terminal's store (and its organization's journal and webhooks), for the till to
    show to those who may view reports; refused when the till's ceiling is below that."""
    ceiling = _heard(ctx, terminal.terminal_id) if terminal.terminal_id else None
    if ceiling is None or not allowed(ceiling, Action.REPORT_VIEW):
        raise ApiError(403, "permission_denied", f"Nobody on this till (up to {ceiling}) may "
                       f"do {Action.REPORT_VIEW.value}",
                       {"role": ceiling, "action": Action.REPORT_VIEW.value})
    with ctx.reader() as session:
        return read(ctx, session, terminal.org_id, [terminal.store_id],
                    silent_after(ctx, silent_after_s))
