"""Organizations, stores, terminals, staff and their credentials."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, JSONType, utcnow


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    next_device_index: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Store(Base):
    """A shop. Its row doubles as the lock and counter of its change feed."""

    __tablename__ = "stores"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    tax_inclusive: Mapped[bool] = mapped_column(default=True)
    address: Mapped[str] = mapped_column(String(500), default="")
    tax_id: Mapped[str] = mapped_column(String(50), default="")
    locale: Mapped[str] = mapped_column(String(20), default="en_IE")
    receipt_footer: Mapped[str] = mapped_column(String(1000), default="Thank you!")
    # the till limits by role (app/domain/till_limits.py); None: the defaults
    till_limits: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    # counts that moved stock by more than this share are listed for a recount (parts
    # per million, app/domain/stock_rules.py); None: the default
    recount_share_ppm: Mapped[int | None] = mapped_column(default=None)
    version: Mapped[int] = mapped_column(default=1)
    feed_position: Mapped[int] = mapped_column(default=0)
    feed_horizon: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Terminal(Base):
    """An enrolled device; ``last_applied_seq`` is its dense operation counter."""

    __tablename__ = "terminals"
    __table_args__ = (UniqueConstraint("org_id", "device_code"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    device_code: Mapped[str] = mapped_column(String(8))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    last_applied_seq: Mapped[int] = mapped_column(default=0)
    # the most senior role that may work on this till (docs/security.md): pushed ops of
    # an actor or approver above it are refused
    max_role: Mapped[str] = mapped_column(String(20), default="manager")
    revoked: Mapped[bool] = mapped_column(default=False)
    enrolled_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column(default=None)


class TerminalStaff(Base):
    """A staff member seen working on a terminal: an ordinary op they pushed from it, or
    an online sign-in that carried its token. A privileged op whose approver was never
    seen on the till is flagged ``unverified_approval`` (docs/security.md). By staff
    member (migration 0022): the stores a person works at, their store scope
    (server/tenancy/scope.py), read on each back-office list of a manager."""

    __tablename__ = "terminal_staff"

    terminal_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    staff_id: Mapped[str] = mapped_column(String(36), primary_key=True, index=True)
    via: Mapped[str] = mapped_column(String(20))  # "op" or "sign_in"
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class EnrollmentCode(Base):
    __tablename__ = "enrollment_codes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str | None] = mapped_column(String(36), default=None)
    max_role: Mapped[str] = mapped_column(String(20), default="manager")  # the till's ceiling
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)
    terminal_id: Mapped[str | None] = mapped_column(String(36), default=None)


class Staff(Base):
    """A person of an organization; ``code`` is the short staff number typed at the till."""

    __tablename__ = "staff"
    __table_args__ = (UniqueConstraint("org_id", "code"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    code: Mapped[str | None] = mapped_column(String(20), default=None)
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(200), default=None)
    pin_hash: Mapped[str | None] = mapped_column(String(200), default=None)
    #: The approver proof (docs/security.md): the salt tills derive the key with (sent in
    #: the staff feed) and the key argon2id(PIN, salt), sealed with the server's data key.
    approval_salt: Mapped[str | None] = mapped_column(String(120), default=None)
    approval_key: Mapped[str | None] = mapped_column(String(200), default=None)
    active: Mapped[bool] = mapped_column(default=True)
    failed_attempts: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    token_epoch: Mapped[int] = mapped_column(default=0)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class RefreshToken(Base):
    """One refresh token of a rotation family; reuse of a used one revokes the family."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (Index(None, "family_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.id"), index=True)
    family_id: Mapped[str] = mapped_column(String(36))
    token_hash: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class ServerMeta(Base):
    """Small key/value facts about this database (e.g. the data key's fingerprint)."""

    __tablename__ = "server_meta"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(String(1000))
