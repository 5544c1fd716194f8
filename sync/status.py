"""What the status bar shows about sync: online, operations waiting, last sync, conflicts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from app.store.local import LocalStore
from app.store.models import OutboxOperation, SyncState


@dataclass(frozen=True)
class SyncStatus:
    online: bool
    enrolled: bool
    waiting: int  # operations not yet accepted by the server
    rejected: int  # operations the server refused (quarantined), shown to admins
    conflicts: int  # open conflicts waiting for a manager
    last_sync: datetime | None
    clock_skew_s: float | None = None
    message: str | None = None  # last error in words, when offline


def read_status(store: LocalStore, *, online: bool = False, message: str | None = None) -> SyncStatus:
    """The sync state as stored locally (cheap: safe to call after every mutation)."""
    with store.db.read() as s:
        counts = dict(
            s.execute(select(OutboxOperation.status, func.count()).group_by(OutboxOperation.status)).all()
        )
        state = dict(s.execute(select(SyncState.key, SyncState.value)).all())
        device = store.device()
    last = state.get("last_sync")
    skew = state.get("clock_skew_s")
    return SyncStatus(
        online=online,
        enrolled=device.server_url is not None,
        waiting=int(counts.get("pending", 0)),
        rejected=int(counts.get("rejected", 0)),
        conflicts=int(state.get("open_conflicts", counts.get("conflict", 0))),
        last_sync=datetime.fromisoformat(last) if last else None,
        clock_skew_s=float(skew) if skew else None,
        message=message,
    )
