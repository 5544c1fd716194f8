"""Ending a person's sign-ins: every access token and every refresh token at once."""

from __future__ import annotations

from sqlalchemy.orm import Session

from server.auth import repository as repo
from server.db.base import utcnow
from server.db.models import Staff


def end_sessions(session: Session, staff: Staff) -> None:
    """Sign ``staff`` out everywhere, in the caller's transaction: their access tokens
    carry the old ``token_epoch`` and are refused from now on (``current_staff`` reads
    the epoch on every request), and their refresh tokens are revoked, so no new access
    token can be had without the (new) secret. Used when a PIN or password changes,
    when a staff member is deactivated, and by ``POST /auth/revoke-all``."""
    staff.token_epoch += 1
    repo.revoke_all_of_staff(session, staff.id, utcnow())
