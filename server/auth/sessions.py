"""Ending a person's sign-ins: every access token and every refresh token at once."""

from __future__ import annotations

from sqlalchemy.orm import Session

from server.auth import lockout
from server.auth import repository as repo
from server.db.base import utcnow
from server.db.models import Staff


def end_sessions(session: Session, staff: Staff, *, new_secret: bool = False) -> None:
    """Sign ``staff`` out everywhere, in the caller's transaction: their access tokens
    carry the old ``token_epoch`` and are refused from now on (``current_staff`` reads
    the epoch on every request), and their refresh tokens are revoked, so no new access
    token can be had without the (new) secret. Used when a PIN or password changes,
    when a staff member is deactivated, and by ``POST /auth/revoke-all``. With
    ``new_secret`` (a PIN or password changed) the person's sign-in counts and locks are
    cleared too (server/auth/lockout.py): guesses at the old secret are moot; a
    sign-out everywhere alone keeps them, so an attack under way gets no fresh allowance."""
    staff.token_epoch += 1
    repo.revoke_all_of_staff(session, staff.id, utcnow())
    if new_secret:
        lockout.clear(session, staff)
