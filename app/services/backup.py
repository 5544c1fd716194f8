"""Backing up the till: now (``tillsync backup``) or while it is idle, kept in rotation.

Why here and not in the store: when a backup is due, where it goes and how many are
kept are the shop's choices (:class:`BackupPolicy`); app/store/backup.py only makes,
opens and rotates the sealed files. A second directory (another disk) gets a copy of
each backup and keeps its own rotation: one dead disk never takes every copy.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.store import backup as files
from app.store.database import private_dir
from app.store.local import LocalStore

BACKUP_DIR = "backups"
ENV_DIR = "TILLSYNC_BACKUP_DIR"
ENV_COPY_DIR = "TILLSYNC_BACKUP_COPY_DIR"


@dataclass
class BackupPolicy:
    """Where backups go, how often one is taken while idle, and how many are kept."""

    directory: Path | None = None  # default: <data dir>/backups
    copy_to: Path | None = None  # another disk, if set
    every: timedelta = timedelta(days=1)
    idle_after_s: float = 120.0
    daily: int = 7
    weekly: int = 4

    @classmethod
    def from_env(cls) -> BackupPolicy:
        """TILLSYNC_BACKUP_DIR, _COPY_DIR (another disk), _DAILY and _WEEKLY (how many of
        each are kept), _EVERY_HOURS (how often one is taken while idle)."""
        return cls(directory=_env_path(ENV_DIR), copy_to=_env_path(ENV_COPY_DIR),
                   every=timedelta(hours=_env_int("TILLSYNC_BACKUP_EVERY_HOURS", 24)),
                   daily=_env_int("TILLSYNC_BACKUP_DAILY", 7),
                   weekly=_env_int("TILLSYNC_BACKUP_WEEKLY", 4))

    def dir_for(self, store: LocalStore) -> Path:
        return self.directory or store.data_dir / BACKUP_DIR


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value.isdigit() else default


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None


@dataclass
class BackupDone:
    path: Path
    copies: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)


def backup_now(store: LocalStore, policy: BackupPolicy | None = None) -> BackupDone:
    """Take a sealed backup, copy it to the other disk if set, and rotate both."""
    policy = policy or BackupPolicy.from_env()
    target = policy.dir_for(store)
    path = files.take_backup(store.db.path, store.cipher, target)
    done = BackupDone(path)
    done.removed += files.keep_in_rotation(target, daily=policy.daily, weekly=policy.weekly)
    if policy.copy_to is not None:
        private_dir(policy.copy_to)
        copy = policy.copy_to / path.name
        shutil.copyfile(path, copy)
        done.copies.append(copy)
        done.removed += files.keep_in_rotation(policy.copy_to, daily=policy.daily,
                                               weekly=policy.weekly)
    return done


def last_backup(store: LocalStore, policy: BackupPolicy) -> datetime | None:
    found = files.backups_in(policy.dir_for(store))
    return files.read_header(found[-1]).taken if found else None


class IdleBackup:
    """Takes a backup when one is due and the till has been idle a while; call
    :meth:`tick` from a timer (the desktop's, or any loop)."""

    def __init__(self, store: LocalStore, policy: BackupPolicy | None = None) -> None:
        self.store = store
        self.policy = policy or BackupPolicy.from_env()
        self.last_activity = time.monotonic()
        self.last: datetime | None = None  # the newest backup's time, once looked up

    def touched(self) -> None:
        """Someone used the till: no backup for ``idle_after_s`` now."""
        self.last_activity = time.monotonic()

    def due(self, now: datetime | None = None) -> bool:
        now = now or datetime.now(UTC)
        if time.monotonic() - self.last_activity < self.policy.idle_after_s:
            return False
        if self.last is None:
            self.last = last_backup(self.store, self.policy)
        return self.last is None or now - self.last >= self.policy.every

    def tick(self) -> BackupDone | None:
        """A backup if one is due now, else None."""
        if not self.due():
            return None
        done = backup_now(self.store, self.policy)
        self.last = files.read_header(done.path).taken
        return done
