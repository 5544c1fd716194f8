"""Database access for organisations, stores, staff and terminals."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.db.models import EnrollmentCode, Organization, Staff, Store, Terminal


def org_for_update(session: Session, org_id: str) -> Organization | None:
    return session.scalars(
        select(Organization).where(Organization.id == org_id).with_for_update()
    ).first()


def stores_of(session: Session, org_id: str) -> list[Store]:
    return list(session.scalars(select(Store).where(Store.org_id == org_id).order_by(Store.name)))


def staff_of(session: Session, org_id: str) -> list[Staff]:
    return list(session.scalars(select(Staff).where(Staff.org_id == org_id).order_by(Staff.name)))


def terminals_of(session: Session, org_id: str) -> list[Terminal]:
    stmt = select(Terminal).where(Terminal.org_id == org_id).order_by(Terminal.device_code)
    return list(session.scalars(stmt))


def code_by_hash(session: Session, code_hash: str) -> EnrollmentCode | None:
    stmt = select(EnrollmentCode).where(EnrollmentCode.code_hash == code_hash).with_for_update()
    return session.scalars(stmt).first()
