"""The server CLI's running-it commands: ``backup``, ``import-outbox``, ``rotate-jwt-key``,
``rotate-data-key``, ``housekeeping``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from app.domain.words import count_of


def add_parser(add: Any) -> None:
    """Register the commands with the server CLI's ``add(name, fn, help)``."""
    p = add("backup", cmd_backup, "copy the SQLite database while the server runs "
            "(PostgreSQL: pg_dump, see docs/server-deploy.md)")
    p.add_argument("dest", type=Path, help="the file to write, or a directory for a dated file")
    add("housekeeping", cmd_housekeeping, "apply the retention settings once: compact old "
        "feed entries, delete old webhook deliveries (run daily from cron)")
    p = add("rotate-data-key", cmd_rotate_data_key, "re-seal customer data with a new data "
            "key (resumable: run again after a crash; a running server follows it when "
            "its key is the key file, else restart it with the new key)")
    p.add_argument("--new-key-file", type=Path, required=True,
                   help="file with the new key: 32 random bytes, base64")
    add("rotate-jwt-key", cmd_rotate_jwt_key, "a new key signs staff tokens; the old one "
        "verifies until its last token expires (nobody is signed out)")
    p = add("import-outbox", cmd_import_outbox, "apply a till's outbox file (tillsync "
            "export-outbox) with a push's rules: each operation once")
    p.add_argument("file", type=Path)


def cmd_housekeeping(args: argparse.Namespace) -> int:
    from server.cli import _settings
    from server.main import build_context
    from server.ops.retention import housekeeping

    ctx = build_context(_settings(args))
    try:
        done = housekeeping(ctx)
    finally:
        ctx.engine.dispose()
    s = ctx.settings
    print(f"feed: {len(done.compacted)} store(s) compacted (entries older than "
          f"{s.retain_feed_days} days)")
    print(f"webhook deliveries: {done.deliveries_deleted} deleted (older than "
          f"{s.retain_webhook_deliveries_days} days); the audit trail is kept")
    return 0


def cmd_rotate_data_key(args: argparse.Namespace) -> int:
    from server import crypto
    from server.cli import SetupError, _settings
    from server.db.engine import make_engine, run_migrations
    from server.ops.data_key import RotationRefused, rotate_data_key, write_key_file

    settings = _settings(args)
    raw_new = args.new_key_file.read_text().strip()
    try:
        old, new = crypto.load_key(settings), crypto._decode(raw_new)
    except crypto.DataKeyError as exc:
        raise SetupError(str(exc)) from exc
    run_migrations(settings.database_url)
    key_file = crypto.key_file_for(settings.database_url)
    next_file = (key_file.with_name(key_file.name + crypto.NEXT_SUFFIX)
                 if not settings.server_data_key and key_file is not None else None)
    if next_file is not None:  # where a running server finds the new key (KeyFollower)
        write_key_file(next_file, raw_new)
    engine = make_engine(settings.database_url)
    try:
        done = rotate_data_key(engine, old, new)
    except RotationRefused as exc:
        raise SetupError(str(exc)) from exc
    finally:
        engine.dispose()
    for table, n in sorted(done.rows.items()):
        print(f"{table}: {n} row(s) re-sealed")
    if next_file is not None and key_file is not None:
        retired = key_file.with_name(key_file.name + ".retired")
        before = retired.read_text() if retired.exists() else ""
        old_b64 = key_file.read_text().strip()
        if old_b64 != raw_new and old_b64 not in before.split():
            write_key_file(retired, (before + "\n" + old_b64).strip())
        write_key_file(key_file, raw_new)
        next_file.unlink(missing_ok=True)
        print(f"the new key is in {key_file}, the old one in {retired} (it opens the audit "
              "entries sealed before); start the server")
    else:
        print("set TILLSYNC_SERVER_DATA_KEY to the new key and add the old one to "
              "TILLSYNC_SERVER_RETIRED_DATA_KEYS (it opens the audit entries sealed before), "
              "then start the server")
    return 0


def cmd_rotate_jwt_key(args: argparse.Namespace) -> int:
    from server.auth import jwt_keys
    from server.cli import _session, _settings

    settings = _settings(args)
    with _session(settings).begin() as session:
        old = [k for k in jwt_keys.read_keys(session, settings) if k.verify_until is None]
        new = jwt_keys.rotate(session, settings)
        keys = jwt_keys.read_keys(session, settings)
    print(f"new signing key {new.kid}; running servers sign with it within "
          f"{int(jwt_keys.RELOAD_S)} s")
    for key in keys:
        if key.kid in {k.kid for k in old} and key.verify_until is not None:
            print(f"key {key.kid} verifies the tokens it signed until "
                  f"{key.verify_until.isoformat()}")
    return 0


def cmd_import_outbox(args: argparse.Namespace) -> int:
    from server.cli import SetupError, _settings
    from server.errors import ApiError
    from server.main import build_context
    from server.ops.import_outbox import ImportOutboxOut, import_outbox

    settings = _settings(args)
    ctx = build_context(settings)
    try:
        done = ImportOutboxOut.of(import_outbox(ctx, args.file.read_bytes()))
    except ApiError as exc:
        raise SetupError(exc.message) from exc
    finally:
        ctx.engine.dispose()
    print(f"{count_of(done.operations, 'operation')} of till {done.terminal} "
          f"({done.device_id}): {done.applied} applied, {done.duplicate} applied before, "
          f"{count_of(done.conflict, 'conflict')}, {done.rejected} rejected")
    if done.held_back_from is not None:
        print(f"the server misses operation {done.held_back_from} of this till: the ones "
              "from it on wait for the till's next push or file")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from server.cli import SetupError, _settings
    from server.ops.backup import BackupRefused, backup_sqlite

    try:
        path = backup_sqlite(_settings(args).database_url, args.dest)
    except BackupRefused as exc:
        raise SetupError(str(exc)) from exc
    print(f"backup written: {path} ({path.stat().st_size} bytes, checked)")
    return 0
