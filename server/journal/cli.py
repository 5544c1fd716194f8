"""``tillsync-server audit verify`` and ``tillsync-server audit receipt TEXT``."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from app.domain.receipt_code import ReceiptCodeError
from server import crypto
from server.config import Settings
from server.db.engine import make_engine, run_migrations, session_factories


def _open(args: argparse.Namespace) -> Any:
    settings = Settings.from_env(database_url=getattr(args, "db", None))
    run_migrations(settings.database_url)
    engine = make_engine(settings.database_url)
    crypto.check_fingerprint(engine, crypto.setup(engine, settings))
    writer, reader = session_factories(engine)
    return engine, writer, reader


def cmd_audit(args: argparse.Namespace) -> int:
    from server.journal import receipts, status

    engine, writer, reader = _open(args)
    try:
        if args.audit_command == "verify":
            verdicts = status.check_all(engine, writer, args.org)
            for v in verdicts:
                print(v.summary())
            if not verdicts:
                print("no organization has a journal yet")
            return 0 if all(v.ok for v in verdicts) else 1
        with reader() as session:
            try:
                found = receipts.check_receipt(session, args.org, args.text)
            except ReceiptCodeError as exc:
                print(f"tillsync-server: {exc}")
                return 2
        print(found.message)
        return 0 if found.matches else 1
    finally:
        engine.dispose()


def add_parser(add: Callable[..., argparse.ArgumentParser]) -> None:
    """Add ``audit`` to the server's command line (``add`` is build_parser's helper)."""
    p = add("audit", cmd_audit, "check the journal, or a receipt against it (docs/journal.md)")
    sub = p.add_subparsers(dest="audit_command", required=True)
    verify = sub.add_parser("verify", help="check every organization's journal; exit 1 "
                            "naming the first bad entry")
    verify.add_argument("--org", default=None, help="only this organization")
    receipt = sub.add_parser("receipt", help="check a receipt's QR text; exit 1 if it "
                             "does not match the journal")
    receipt.add_argument("--org", required=True, help="the organization the receipt is from")
    receipt.add_argument("text", help="the QR code's text, TS1:<reference>:<code>")


def main(argv: list[str] | None = None) -> int:
    """``audit`` on its own (tests, and a server build whose CLI does not list it yet)."""
    parser = argparse.ArgumentParser(prog="tillsync-server")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, fn: Callable[[argparse.Namespace], int], help_: str
            ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_)
        p.add_argument("--db", help="database URL (default TILLSYNC_DATABASE_URL or SQLite file)")
        p.set_defaults(func=fn)
        return p

    add_parser(add)
    args = parser.parse_args(argv)
    return int(args.func(args))
