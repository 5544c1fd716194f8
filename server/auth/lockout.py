"""Sign-in lockout by (staff member, client), with a slower back-off for the account.

Following the OWASP authentication guidance, wrong secrets are counted per pair of the
account and the place they come from, so somebody typing wrong PINs elsewhere cannot
lock the real person out at their own till:

- **The pair.** ``lockout_threshold`` (5) wrong PINs or passwords in a row for one staff
  member from one client lock that pair for ``lockout_seconds`` (5 minutes). The client
  is the enrolled till whose terminal token the sign-in carries (a till of the staff
  member's organization), else the network address.
- **The account, everywhere.** Every wrong secret also counts on the account
  (``staff.failed_attempts``, reset by a good sign-in). From ``GLOBAL_FACTOR`` times
  the threshold (20) on, the account is held off for ``lockout_seconds``, doubling with
  each further threshold's worth of failures up to :data:`GLOBAL_BACKOFF_MAX_S`
  (``staff.locked_until``) -- but only at places the person is not known at. Known
  places (the organization's enrolled tills, and any address the person signed in from
  before) keep working, each behind its own pair lock. Once past that threshold, a good
  sign-in no longer resets the account's count (the attack would get a fresh
  allowance each time the person signs in at their till); the back-off then grows to
  at most one hour per ``threshold`` guesses at unknown places.

Housekeeping: rows of places the person never signed in from are pruned once their lock
has expired and their count is idle (an expired lock at once, a count after the longest
back-off, :data:`GLOBAL_BACKOFF_MAX_S`), on write, at most every :data:`PRUNE_EVERY_S`
per process, when a new place is counted (:func:`pair`). A new PIN or password clears
the person's counts and locks (:func:`clear`, called by
``server.auth.sessions.end_sessions``): guesses at the old secret say nothing about the
new one. Known places (``signed_in_at``) are kept: they are what the back-off spares.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, select, tuple_, update
from sqlalchemy.orm import Session

from server.db.base import utcnow
from server.db.models import SignInLock, Staff

GLOBAL_FACTOR = 4
GLOBAL_BACKOFF_MAX_S = 3600
PRUNE_EVERY_S = 60.0
_pruned = {"at": float("-inf")}
_prune_lock = threading.Lock()


def client_key(staff: Staff, terminal_id: str | None, terminal_org: str | None,
               address: str | None) -> str:
    """The place of a sign-in: the staff member's organization's till, else the address."""
    if terminal_id is not None and terminal_org == staff.org_id:
        return f"till:{terminal_id}"
    return f"ip:{address or 'unknown'}"[:100]


def pair(session: Session, staff: Staff, client: str) -> SignInLock:
    """The (staff member, client) row, new if none (the staff row is locked already)."""
    row = session.get(SignInLock, (staff.id, client))
    if row is None:
        maybe_prune(session, staff.id)  # a new row: the table grows, so tidy it now and then
        row = SignInLock(staff_id=staff.id, client=client, failures=0)
        session.add(row)
    return row


def prune(session: Session, now: datetime, *, keep_staff: str | None = None) -> int:
    """Delete the rows of unknown places whose lock has expired and whose count is zero,
    or idle longer than the longest back-off. Rows other transactions hold are skipped
    (``SKIP LOCKED`` on PostgreSQL), so the prune never waits on a sign-in; the rows of
    ``keep_staff`` (the person signing in now, whose rows this transaction may hold) stay.
    Returns how many went."""
    idle = now - timedelta(seconds=GLOBAL_BACKOFF_MAX_S)
    stale = (select(SignInLock.staff_id, SignInLock.client)
             .where(SignInLock.signed_in_at.is_(None),
                    or_(SignInLock.locked_until.is_(None), SignInLock.locked_until < now),
                    or_(and_(SignInLock.failures == 0, SignInLock.locked_until.is_not(None)),
                        SignInLock.updated_at < idle))
             .with_for_update(skip_locked=True))
    if keep_staff is not None:
        stale = stale.where(SignInLock.staff_id != keep_staff)
    done = session.execute(
        delete(SignInLock).where(tuple_(SignInLock.staff_id, SignInLock.client).in_(stale))
        .execution_options(synchronize_session=False))
    return int(getattr(done, "rowcount", 0) or 0)


def maybe_prune(session: Session, keep_staff: str | None = None) -> int:
    """:func:`prune`, at most every :data:`PRUNE_EVERY_S` in this process."""
    with _prune_lock:
        if time.monotonic() - _pruned["at"] < PRUNE_EVERY_S:
            return 0
        _pruned["at"] = time.monotonic()
    return prune(session, utcnow(), keep_staff=keep_staff)


def clear(session: Session, staff: Staff) -> None:
    """Forget ``staff``'s wrong guesses and locks (a new PIN or password): every place's
    count and lock, and the account's. The places they signed in from stay known."""
    session.execute(delete(SignInLock).where(SignInLock.staff_id == staff.id,
                                             SignInLock.signed_in_at.is_(None))
                    .execution_options(synchronize_session=False))
    session.execute(update(SignInLock).where(SignInLock.staff_id == staff.id)
                    .values(failures=0, locked_until=None)
                    .execution_options(synchronize_session=False))
    staff.failed_attempts = 0
    staff.locked_until = None


def known_place(row: SignInLock, client: str) -> bool:
    """A till of the organization, or an address the person signed in from before."""
    return client.startswith("till:") or row.signed_in_at is not None


def global_threshold(threshold: int) -> int:
    return GLOBAL_FACTOR * threshold


def global_backoff_s(failures: int, threshold: int, base_s: int) -> int | None:
    """How long the account is held off at unknown places after ``failures`` wrong
    secrets in a row from everywhere (None: not yet)."""
    start = global_threshold(threshold)
    if failures < start or (failures - start) % threshold:
        return None
    doublings = (failures - start) // threshold
    return int(min(GLOBAL_BACKOFF_MAX_S, base_s * 2 ** min(doublings, 20)))


def signed_in(row: SignInLock, staff: Staff, now: datetime, threshold: int) -> None:
    """A good sign-in: this place's count starts again and the place is known from now
    on. The account's count starts again only while it is below the global threshold
    (a few typos); past it an attack is under way, and the person signing in at their
    own till must not hand the attacker a fresh allowance at unknown places."""
    row.failures = 0
    row.locked_until = None
    row.signed_in_at = now
    row.updated_at = now
    if staff.failed_attempts < global_threshold(threshold):
        staff.failed_attempts = 0
        staff.locked_until = None


def until(now: datetime, seconds: int) -> datetime:
    return now + timedelta(seconds=seconds)
