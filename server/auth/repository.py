"""Database access for staff credentials and refresh-token families."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.db.models import AuditEntry, RefreshToken, Staff


def get_staff(session: Session, staff_id: str, *, for_update: bool = False) -> Staff | None:
    stmt = select(Staff).where(Staff.id == staff_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).first()


def get_staff_by_code(session: Session, org_id: str, code: str) -> Staff | None:
    """The staff member of ``org_id`` with this staff code (unique per organization),
    locked for the update of their failure count."""
    stmt = select(Staff).where(Staff.org_id == org_id, Staff.code == code).with_for_update()
    return session.scalars(stmt).first()


def get_refresh(session: Session, token_id: str) -> RefreshToken | None:
    stmt = select(RefreshToken).where(RefreshToken.id == token_id).with_for_update()
    return session.scalars(stmt).first()


def revoke_family(session: Session, family_id: str, now: datetime) -> None:
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def revoke_all_of_staff(session: Session, staff_id: str, now: datetime) -> None:
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.staff_id == staff_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def add_audit_entry(
    session: Session, *, org_id: str, entity_type: str, entity_id: str, action: str,
    reason: str, changes: dict[str, Any], store_id: str | None, device_id: str | None,
) -> None:
    """An audit entry about a sign-in: nobody is signed in yet, so it has no actor."""
    session.add(AuditEntry(
        org_id=org_id, store_id=store_id, entity_type=entity_type, entity_id=entity_id,
        action=action, actor_id=None, device_id=device_id, changes=changes, reason=reason,
    ))
