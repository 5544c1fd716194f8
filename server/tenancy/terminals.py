"""Changing an enrolled terminal's role ceiling without enrolling it again.

The ceiling (``terminals.max_role``) is the most senior role that may work on a till
(app/domain/role_ceiling.py). An owner or admin lowers it when a back-office PC moves to
the shop floor, or raises it, never above their own role. The push path reads it per
transaction (server/sync/dispatch.py) and the feed strips the PIN hashes of staff above
it at read time (server/feed/ceiling.py), so the change takes effect on the next push
and pull; the till learns its new ceiling from the pull answer's ``max_role``.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.permissions import Role
from app.domain.role_ceiling import within_ceiling
from server.db.models import AuditEntry, Terminal
from server.errors import ApiError, not_found


def set_ceiling(
    session: Session, org_id: str, terminal_id: str, max_role: Role | str, *,
    by_role: Role | str | None, by_staff_id: str | None = None, reason: str | None = None,
) -> Terminal:
    """Set ``terminal_id``'s ceiling to ``max_role``, with an audit entry.

    ``by_role`` (None from the server's CLI) may not set a ceiling above itself, nor
    change the ceiling of a till that already takes someone above it (an admin may not
    lower the owner's back-office PC): 403 in words."""
    term = session.scalars(select(Terminal).where(Terminal.id == terminal_id)
                           .with_for_update()).first()
    if term is None or term.org_id != org_id:
        raise not_found("Terminal")
    ceiling = Role(max_role)
    if by_role is not None:
        mine = Role(by_role)
        for role in (ceiling, Role(term.max_role)):
            if not within_ceiling(role, mine):
                article = "An" if mine.value[0] in "aeiou" else "A"
                raise ApiError(403, "permission_denied",
                               f"{article} {mine.value} may not change a till's ceiling to "
                               f"or from {role.value}")
    before = term.max_role
    if before == ceiling.value:
        return term
    term.max_role = ceiling.value
    session.add(AuditEntry(
        org_id=org_id, store_id=term.store_id, entity_type="terminal", entity_id=term.id,
        action="terminal.ceiling", actor_id=by_staff_id,
        changes={"max_role": {"before": before, "after": ceiling.value}},
        reason=reason or f"{term.name} now takes up to {ceiling.value}",
    ))
    session.flush()
    return term
