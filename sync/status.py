"""What the status bar shows about sync: online, operations waiting, last sync, conflicts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select

from app.domain.words import count_of
from app.store.disk import space_warning
from app.store.local import LocalStore
from app.store.models import OutboxOperation, SyncState
from app.store.models_aftersale import Conflict

CLOCK_SKEW_WARN_S = 300.0
#: Without a live sync loop to ask (``tillsync status``, a till not syncing yet), a sync
#: this recent means the server was reachable: "Online", not "Offline" right after it.
RECENT_SYNC_S = 120.0


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
    syncing: bool = False
    disk_warning: str | None = None  # the data directory's disk is nearly full

    @property
    def clock_warning(self) -> str | None:
        """Receipts and reports use the till's clock: say so when it is far off the server's."""
        if self.clock_skew_s is None or abs(self.clock_skew_s) <= CLOCK_SKEW_WARN_S:
            return None
        minutes = round(abs(self.clock_skew_s) / 60)
        way = "behind" if self.clock_skew_s > 0 else "ahead of"
        return f"This till's clock is {minutes} min {way} the server's; fix the date and time"

    def describe(self) -> str:
        """The status in words, for ``tillsync status`` and tooltips."""
        if not self.enrolled:
            head = "Not enrolled with a server (run: tillsync enroll --server URL --code CODE)"
        elif self.syncing:
            head = "Syncing..."
        else:
            head = "Online" if self.online else "Offline"
        parts = [head, f"{count_of(self.waiting, 'operation')} waiting to sync"]
        if self.rejected:
            parts.append(f"{self.rejected} rejected (see the quarantine)")
        if self.conflicts:
            parts.append(f"{count_of(self.conflicts, 'open conflict')} for a manager")
        if self.last_sync:
            parts.append(f"last sync {self.last_sync.astimezone().strftime('%Y-%m-%d %H:%M:%S')}")
        else:
            parts.append("never synced")
        if self.message:
            parts.append(self.message)
        if self.clock_warning:
            parts.append(self.clock_warning)
        if self.disk_warning:
            parts.append(self.disk_warning)
        return "; ".join(parts)


def _parse(ts: str | None) -> datetime | None:
    if not ts:
        return None
    dt = datetime.fromisoformat(ts)
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def read_status(
    store: LocalStore, *, online: bool | None = None, message: str | None = None, syncing: bool = False
) -> SyncStatus:
    """The sync state as stored locally (cheap: safe to call after every mutation).

    ``online`` None (no sync loop to ask): online when the last sync was within
    :data:`RECENT_SYNC_S`."""
    with store.db.read() as s:
        counts = dict(
            s.execute(select(OutboxOperation.status, func.count()).group_by(OutboxOperation.status)).all()
        )
        state = dict(s.execute(select(SyncState.key, SyncState.value)
                               .where(SyncState.key.in_(["last_sync", "clock_skew_s"]))).all())
        open_conflicts = s.scalar(select(func.count()).select_from(Conflict)
                                  .where(Conflict.status == "open")) or 0
        device = store.device()
    skew = state.get("clock_skew_s")
    last_sync = _parse(state.get("last_sync"))
    if online is None:
        online = last_sync is not None and (datetime.now(UTC) - last_sync).total_seconds() < RECENT_SYNC_S
    return SyncStatus(
        online=online,
        enrolled=device.server_url is not None,
        waiting=int(counts.get("pending", 0)),
        rejected=int(counts.get("rejected", 0)),
        conflicts=int(open_conflicts),
        last_sync=last_sync,
        clock_skew_s=float(skew) if skew else None,
        message=message,
        syncing=syncing,
        disk_warning=space_warning(store.data_dir),  # one statvfs: cheap on every refresh
    )
