"""``tillsync-server backup``: a consistent copy of the server's SQLite database, online.

Why SQLite's online backup and not a file copy: the server keeps writing (WAL mode), and
a copy of the file alone can miss the last commits or tear a page; the backup API copies
one consistent picture while pushes go on. The copy is checked (``quick_check``) before
it takes its final name, and is private to the server's user like the database itself.

PostgreSQL has its own tools: ``pg_dump -Fc`` and ``pg_restore`` (docs/server-deploy.md,
"Backups", tested by tests/sync/test_restore_drills.py).
"""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

PRIVATE_FILE = 0o600


class BackupRefused(RuntimeError):
    """The backup cannot be made here, said in words."""


def sqlite_path(url: str) -> Path:
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite"):
        raise BackupRefused(
            "tillsync-server backup copies a SQLite database; for PostgreSQL use "
            "pg_dump -Fc (see docs/server-deploy.md, Backups)")
    if not parsed.database or parsed.database == ":memory:":
        raise BackupRefused("an in-memory database has nothing to back up")
    path = Path(parsed.database)
    if not path.is_file():
        raise BackupRefused(f"no database file at {path}")
    return path


def default_name(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return f"tillsync-server-{now.strftime('%Y%m%dT%H%M%SZ')}.db"


def backup_sqlite(url: str, dest: Path) -> Path:
    """Copy the database of ``url`` to ``dest`` (a file, or a directory to put a dated
    file in) while the server may run; the path written."""
    source_path = sqlite_path(url)
    if dest.is_dir():
        dest = dest / default_name()
    if dest.exists():
        raise BackupRefused(f"{dest} exists already; name a new file")
    tmp = dest.with_name(dest.name + ".part")
    os.close(os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, PRIVATE_FILE))
    source = sqlite3.connect(f"{source_path.resolve().as_uri()}?mode=ro", uri=True, timeout=60)
    target = sqlite3.connect(tmp)
    try:
        source.backup(target)
        target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        check = target.execute("PRAGMA quick_check").fetchone()[0]
    finally:
        target.close()
        source.close()
    if check != "ok":
        tmp.unlink(missing_ok=True)
        raise BackupRefused(f"the copy did not pass SQLite's check ({check}); try again")
    os.replace(tmp, dest)
    return dest
