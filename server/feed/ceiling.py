"""The feed as a till of a given role ceiling may see it: no PIN hash above the ceiling.

A store's feed is shared by all its tills, and a staff entry carries the person's
argon2 PIN hash so a till signs people in offline. A till whose ceiling is manager never
signs in an owner or admin, so it has no use for their hashes, and a stolen one must
not be able to crack them offline (docs/security.md, 1). The hash is blanked at read
time, per pulling terminal, in pulls and snapshots alike; the entry's ``role`` is the
role of that version, so a later promotion above the ceiling blanks the hash from then on.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.operations import Entity
from app.domain.permissions import Role
from app.domain.role_ceiling import within_ceiling
from server.context import TerminalPrincipal
from server.db.models import Terminal
from sync.protocol import Change


def ceiling_of(session: Session, terminal: TerminalPrincipal) -> str | None:
    """The pulling terminal's ceiling as it is now (None: not an enrolled terminal)."""
    if terminal.terminal_id is None:
        return None
    return session.scalar(select(Terminal.max_role).where(Terminal.id == terminal.terminal_id))


def _above(data: dict[str, object], ceiling: str) -> bool:
    role = data.get("role")
    try:
        return not within_ceiling(str(role), ceiling)
    except ValueError:  # a role this server does not know: keep its secret back too
        return True


def data_for_ceiling(entity_type: str, data: dict[str, object], ceiling: str | None
                     ) -> dict[str, object]:
    """One entry's ``data`` as a till of ``ceiling`` may see it (a copy when blanked)."""
    if (ceiling is None or ceiling == Role.OWNER.value or entity_type != Entity.STAFF
            or not data or not data.get("pin_hash") or not _above(data, ceiling)):
        return data
    return {**data, "pin_hash": ""}


def for_ceiling(changes: list[Change], ceiling: str | None) -> list[Change]:
    """``changes`` with ``pin_hash`` blanked ("") on staff above ``ceiling``."""
    if ceiling is None or ceiling == Role.OWNER.value:
        return changes
    out: list[Change] = []
    for change in changes:
        data = change.data
        if change.entity_type == Entity.STAFF and data and data.get("pin_hash") and _above(data, ceiling):
            change = change.model_copy(update={"data": {**data, "pin_hash": ""}})
        out.append(change)
    return out
