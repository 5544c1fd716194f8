"""The ``tillsync`` command: run the desktop app, seed a demo store, enroll, sync, status."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from platformdirs import user_data_dir

from app.domain.words import count_of
from app.store.database import STORE_MARKER, StoreUnusable, tighten_tree
from app.store.disk import DiskFull, disk_full
from app.store.keys import KeyUnavailable

if TYPE_CHECKING:
    from app.store.local import LocalStore

PRIVATE_UMASK = 0o077
#: What stops the till with words instead of a traceback: no safe key, a damaged or
#: missing store or key file, a full disk (each message says what to do).
REFUSALS = (KeyUnavailable, StoreUnusable, DiskFull)


def default_data_dir() -> Path:
    return Path(os.environ.get("TILLSYNC_DATA_DIR") or user_data_dir("Tillsync", "Tillsync"))


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tillsync", description="Tillsync point of sale")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="where the local store lives (default: $TILLSYNC_DATA_DIR or the OS data dir)")
    p.add_argument("--key-passphrase-file", type=Path, default=None,
                   help="file holding the passphrase of the data key, on a terminal with no OS keyring")
    sub = p.add_subparsers(dest="command")
    run = sub.add_parser("run", help="start the desktop app (the default)")
    run.add_argument("--demo", action="store_true",
                     help="run against an embedded local demo server (enrolled and synced on "
                          "first start); a standalone demo store if it cannot start")
    run.add_argument("--smoke", action="store_true", help="open the sign-in screen and exit (packaging check)")
    demo = sub.add_parser("demo", help="seed a demo store into the data dir")
    demo.add_argument("--products", type=int, default=2000)
    enroll = sub.add_parser("enroll", help="enroll this terminal with a central server")
    enroll.add_argument("--server", required=True)
    enroll.add_argument("--code", required=True)
    enroll.add_argument("--name", default=None)
    enroll.add_argument("--allow-insecure-http", action="store_true",
                        help="allow a plain http:// server that is not this machine (the "
                             "token then crosses the network unencrypted)")
    sub.add_parser("sync", help="push waiting operations and pull changes once")
    sub.add_parser("status", help="show sync status")
    backup = sub.add_parser("backup", help="take a sealed backup of the store now "
                            "(docs/backup-restore.md)")
    backup.add_argument("--to", type=Path, default=None,
                        help="directory for the backup (default: $TILLSYNC_BACKUP_DIR or "
                             "<data dir>/backups)")
    restore = sub.add_parser("restore", help="put a backup back in place of the store "
                             "(the till closed); refuses to go backwards without --force")
    restore.add_argument("backup", type=Path, help="the .tsbk file")
    restore.add_argument("--force", action="store_true",
                         help="restore even though the current store holds newer sales")
    export = sub.add_parser("export-outbox", help="write the waiting operations to a sealed "
                            "file for the server (sync by file, docs/backup-restore.md)")
    export.add_argument("file", type=Path)
    keys_cmd = sub.add_parser("keys", help="the customer-data key (docs/terminal-setup.md)")
    rotate = keys_cmd.add_subparsers(dest="keys_command", required=True).add_parser(
        "rotate", help="re-seal every customer with a new key, in batches; stopped in the "
        "middle, run it again to finish (the old key keeps opening older records)")
    rotate.add_argument("--batch", type=int, default=200, help="customers per transaction")
    audit = sub.add_parser("audit", help="check this till's journal (docs/journal.md)")
    audit.add_subparsers(dest="audit_command", required=True).add_parser(
        "verify", help="verify the audit chain; exit 1 naming the first bad entry")
    return p


def _passphrase(args: argparse.Namespace) -> str | None:
    return args.key_passphrase_file.read_text().strip() if args.key_passphrase_file else None


def _open(args: argparse.Namespace) -> LocalStore:
    from app.store.local import DB_FILE, open_store

    data_dir = Path(args.data_dir or default_data_dir())
    if (data_dir / DB_FILE).exists() or (data_dir / STORE_MARKER).exists():
        tighten_tree(data_dir)  # files an older version or a copy left readable by others
    return open_store(data_dir, passphrase=_passphrase(args),
                      rotating=getattr(args, "command", None) == "keys")


def _keys_rotate(store: LocalStore, args: argparse.Namespace) -> int:
    from app.store.key_rotation import RotationRefused, rotate_key

    try:
        done = rotate_key(store, passphrase=_passphrase(args), batch=max(1, args.batch))
    except RotationRefused as exc:
        print(f"tillsync: {exc}", file=sys.stderr)
        return 2
    print(f"{'Finished the rotation: ' if done.resumed else ''}"
          f"{count_of(done.customers, 'customer')} and "
          f"{count_of(done.parked, 'parked sale')} re-sealed with the new customer-data key. "
          "The old key is kept as a retired key: it opens what was sealed before "
          "(the journal, answered operations, older backups).")
    return 0


def _audit_verify(store: LocalStore, args: argparse.Namespace) -> int:
    """The till's journal from its first entry, then (enrolled and online) against the
    head the server's journal holds of it; 1 if either does not hold (docs/journal.md)."""
    import asyncio

    from app.services.journal import check_journal
    from sync.client import SyncError
    from sync.credentials import CredentialUnavailable
    from sync.journal import compare_with_server_journal
    from sync.service import NotEnrolled

    report = check_journal(store)
    print(report.summary())
    try:
        against = asyncio.run(compare_with_server_journal(store, _passphrase(args)))
    except NotEnrolled:
        return 0 if report.ok else 1
    except (SyncError, CredentialUnavailable) as exc:
        print(f"The server could not be asked ({exc}); this is the till's own check only")
        return 0 if report.ok else 1
    print(against.summary())
    return 0 if report.ok and against.problem is None else 1


def _refused(exc: BaseException, command: str, smoke: bool) -> int:
    """The person-readable reason the till cannot start, on stderr and (for the desktop)
    in a window, instead of a traceback."""
    print(f"tillsync: {exc}", file=sys.stderr)
    if command == "run":
        from ui.main import show_start_error

        show_start_error(str(exc), wait=not smoke)
    return 2


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    command = args.command or "run"
    umask = os.umask(PRIVATE_UMASK)  # whatever this process creates is the till user's only
    try:
        return _main(args, command)
    except REFUSALS as exc:
        return _refused(exc, command, getattr(args, "smoke", False))
    except Exception as exc:
        full = disk_full(exc, args.data_dir or default_data_dir())  # ENOSPC anywhere: in words
        if full is None:
            raise
        return _refused(full, command, getattr(args, "smoke", False))
    finally:
        os.umask(umask)


def _restore(args: argparse.Namespace) -> int:
    """``tillsync restore``: with the store closed; says what is newer and stops unless
    --force (app/services/restore.py)."""
    from app.services.restore import RestoreRefused, restore
    from app.store.backup import BackupError

    data_dir = Path(args.data_dir or default_data_dir())
    try:
        done = restore(data_dir, args.backup, passphrase=_passphrase(args), force=args.force)
    except (RestoreRefused, BackupError) as exc:
        print(f"tillsync: {exc}", file=sys.stderr)
        return 1
    h = done.header
    print(f"Restored the backup of {h.taken_at}: {h.orders} orders, op_seq {h.op_seq}.")
    if done.kept_as is not None:
        print(f"The store it replaced is kept as {done.kept_as}.")
    print("At its next sync the till takes back from the server what it holds beyond the "
          "backup, and continues after its numbers.")
    return 0


def _backup(store: LocalStore, args: argparse.Namespace) -> int:
    from app.services.backup import BackupPolicy, backup_now

    policy = BackupPolicy.from_env()
    if args.to is not None:
        policy.directory = args.to
    done = backup_now(store, policy)
    print(f"Backup written: {done.path}")
    for copy in done.copies:
        print(f"Copy written: {copy}")
    for gone in done.removed:
        print(f"Out of rotation, deleted: {gone}")
    return 0


def _export_outbox(store: LocalStore, args: argparse.Namespace) -> int:
    from sync import credentials
    from sync.outbox_file import export_outbox

    cred = credentials.load(store.data_dir, store.device_id, _passphrase(args))
    if cred is None:
        print("tillsync: this till is not enrolled; there is no server to make the file for",
              file=sys.stderr)
        return 2
    header = export_outbox(store, cred.token, args.file)
    span = f" (op_seq {header.first_seq}..{header.last_seq})" if header.count else ""
    print(f"Wrote {count_of(header.count, 'waiting operation')}{span} to {args.file}. They stay "
          "waiting here: a later sync is answered 'duplicate' for those the server imported.")
    return 0


def _main(args: argparse.Namespace, command: str) -> int:
    if command == "restore":
        return _restore(args)
    store = _open(args)
    try:
        if command == "backup":
            return _backup(store, args)
        if command == "export-outbox":
            return _export_outbox(store, args)
        if command == "demo":
            from app import demo

            n = demo.seed(store, args.products)
            print(f"Seeded {n} products" if n else "The store already has a catalog; nothing seeded")
            return 0
        if command == "audit":
            return _audit_verify(store, args)
        if command == "keys":
            return _keys_rotate(store, args)
        if command in ("enroll", "sync", "status"):
            from sync import commands

            return commands.run(command, store, args)
        from ui.main import run_app

        return run_app(store, demo=getattr(args, "demo", False), smoke=getattr(args, "smoke", False),
                       passphrase=_passphrase(args))
    finally:
        store.close()


if __name__ == "__main__":
    sys.exit(main())
