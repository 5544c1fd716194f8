"""Abuse guards shared by every server process: rate-limit buckets and sign-in locks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, utcnow


class RateLimitBucket(Base):
    """One client's token bucket as a GCRA "theoretical arrival time" (``tat``, seconds
    since the epoch on the database's clock), shared by all workers on PostgreSQL
    (server/ratelimit.py). ``granted`` is the number of tokens the last update handed
    out. UNLOGGED on PostgreSQL: a crash forgets the buckets, which only refills them."""

    __tablename__ = "rate_limit_buckets"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    tat: Mapped[float] = mapped_column(Float)
    granted: Mapped[int] = mapped_column(default=0)


class SignInLock(Base):
    """Failed sign-ins of one staff member from one client (an enrolled till, else a
    network address), and the lock they earned: wrong PINs typed somewhere else never
    lock the person out at their own till (server/auth/lockout.py)."""

    __tablename__ = "sign_in_locks"

    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.id"), primary_key=True)
    client: Mapped[str] = mapped_column(String(100), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    #: the last good sign-in of this person here: a place they are known at, which the
    #: account's global back-off does not hold off
    signed_in_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
