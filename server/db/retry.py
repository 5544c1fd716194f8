"""Trying a write again after the database rolled it back (a deadlock, say).

Only after errors that certainly rolled the transaction back, so trying again can
neither write twice nor answer wrongly: PostgreSQL's deadlock_detected,
serialization_failure and lock_not_available, and SQLite's "database is locked". A lost
connection is not among them: the commit may have happened, and a second POST would
then be refused as a record that exists. (A push retries on any database error: its
ops are deduplicated by op_id, so a repeat is answered, not applied twice.)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import OperationalError

log = logging.getLogger("tillsync.server.retry")
ATTEMPTS = 3
RETRYABLE_SQLSTATES = {"40P01", "40001", "55P03"}
T = TypeVar("T")


def retryable(exc: OperationalError) -> bool:
    if getattr(exc.orig, "sqlstate", None) in RETRYABLE_SQLSTATES:
        return True
    return "database is locked" in str(exc.orig)


def with_retries(write: Callable[[], T]) -> T:
    """``write()`` (one transaction), again up to ATTEMPTS times after a rolled-back error."""
    for attempt in range(ATTEMPTS):
        try:
            return write()
        except OperationalError as exc:
            if attempt == ATTEMPTS - 1 or not retryable(exc):
                raise
            log.warning("transient database error (attempt %d): %s", attempt + 1, exc)
            time.sleep(0.05 * 2**attempt)
    raise AssertionError("unreachable")
