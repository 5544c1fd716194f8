"""The server CLI's running-it commands: ``backup`` (more join as they are built)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_parser(add: Any) -> None:
    """Register the commands with the server CLI's ``add(name, fn, help)``."""
    p = add("backup", cmd_backup, "copy the SQLite database while the server runs "
            "(PostgreSQL: pg_dump, see docs/server-deploy.md)")
    p.add_argument("dest", type=Path, help="the file to write, or a directory for a dated file")


def cmd_backup(args: argparse.Namespace) -> int:
    from server.cli import SetupError, _settings
    from server.ops.backup import BackupRefused, backup_sqlite

    try:
        path = backup_sqlite(_settings(args).database_url, args.dest)
    except BackupRefused as exc:
        raise SetupError(str(exc)) from exc
    print(f"backup written: {path} ({path.stat().st_size} bytes, checked)")
    return 0
