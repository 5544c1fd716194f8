"""``tillsync enroll | sync | status``: the sync engine from the command line.

Why a CLI: an admin sets up a headless till over SSH, and support asks a shop to
run ``tillsync status`` on the phone. Exit codes: 0 ok, 1 failed (the message says
why), 2 not set up (not enrolled, no keyring and no passphrase).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TextIO

from app.domain.words import count_of
from app.store.local import LocalStore
from sync import credentials
from sync.client import SyncError, TransientError
from sync.enroll import EnrollError, enroll
from sync.service import NotEnrolled, SyncReport, SyncService, client_factory_for
from sync.status import read_status


def _passphrase(args: argparse.Namespace) -> str | None:
    path = getattr(args, "key_passphrase_file", None)
    return path.read_text().strip() if path else None


def summary(report: SyncReport) -> list[str]:
    """The result of one sync round in words."""
    p, q = report.push, report.pull
    lines = [f"Pushed {count_of(p.pushed, 'operation')}: {p.applied} applied, "
             f"{count_of(p.duplicates, 'duplicate')}, {count_of(len(p.conflicts), 'conflict')}, "
             f"{len(p.rejected)} rejected"]
    for prob in p.rejected:
        lines.append(f"  rejected #{prob.op_seq} {prob.op_type} {prob.entity_id}: {prob.reason}")
    for prob in p.conflicts:
        lines.append(f"  conflict #{prob.op_seq} {prob.op_type} {prob.entity_id}: {prob.reason}")
    if p.resent_from is not None:
        lines.append(f"  the server was missing operation {p.resent_from}; resent from there")
    how = " (from a snapshot)" if q.snapshot else ""
    lines.append(f"Pulled {count_of(q.pulled, 'change')}{how}: {q.applied} applied, "
                 f"{q.held_back} held back behind local edits, cursor {q.cursor}")
    if report.held_back_applied:
        lines.append(f"Applied {count_of(report.held_back_applied, 'change')} held back earlier")
    return lines


def _progress(out: TextIO):
    def show(done: int, total: int | None) -> None:
        if total:
            print(f"\r  {done}/{total}", end="" if done < total else "\n", file=out, flush=True)

    return show


async def _sync(store: LocalStore, args: argparse.Namespace, out: TextIO) -> SyncReport:
    service = SyncService(store, client_factory_for(store, _passphrase(args)),
                          progress=_progress(out))
    return await service.run_once()


def run(command: str, store: LocalStore, args: argparse.Namespace,
        out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        if command == "enroll":
            result = asyncio.run(enroll(
                store, args.server, args.code, getattr(args, "name", None),
                passphrase=_passphrase(args),
                allow_insecure_http=getattr(args, "allow_insecure_http", False)))
            if result.warning:
                print(f"tillsync: warning: {result.warning}", file=err)
            print(f"Enrolled as device {result.device_code} of store {result.store_name!r} "
                  f"(device id {result.device_id}); credential kept in the "
                  f"{'OS keyring' if result.credential_source == 'keyring' else 'encrypted key file'}",
                  file=out)
            return 0
        if command == "sync":
            report = asyncio.run(_sync(store, args, out))
            for line in summary(report):
                print(line, file=out)
            status = read_status(store, online=True)
            if status.clock_warning:
                print(f"Warning: {status.clock_warning}", file=out)
            if status.disk_warning:
                print(f"Warning: {status.disk_warning}", file=out)
            return 0 if not report.push.rejected and not report.push.conflicts else 1
        if command == "status":
            print(read_status(store).describe(), file=out)
            return 0
    except (EnrollError, NotEnrolled, credentials.CredentialUnavailable) as exc:
        print(f"tillsync: {exc}", file=err)
        return 2
    except TransientError as exc:
        print(f"tillsync: offline, nothing lost; operations stay queued ({exc})", file=err)
        return 1
    except SyncError as exc:
        print(f"tillsync: sync failed: {exc}", file=err)
        return 1
    print(f"tillsync: unknown sync command {command!r}", file=err)
    return 2
