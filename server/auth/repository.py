"""Database access for staff credentials and refresh-token families."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.db.models import RefreshToken, Staff


def get_staff(session: Session, staff_id: str, *, for_update: bool = False) -> Staff | None:
    stmt = select(Staff).where(Staff.id == staff_id)
    if for_update:
        stmt = stmt.with_for_update()
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
