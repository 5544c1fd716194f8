"""``tillsync-server``: serve, bootstrap tenants, make enrollment codes, seed a demo org."""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app.domain import demo_catalog
from app.domain.permissions import Role
from server import crypto
from server.config import InsecureSettingsError, Settings
from server.db.base import utcnow
from server.db.engine import make_engine, run_migrations, session_factories
from server.db.models import (
    AuditEntry,
    FeedEntry,
    Product,
    Staff,
    StockLevel,
    StockMovement,
    Store,
)
from server.errors import ApiError
from server.feed.serialize import iso
from server.security import make_hasher
from server.tenancy import service as tenancy
from server.tenancy import terminals

DEMO_SEED = 7
DEMO_STORE = {
    "name": "Harbour Street Grocer", "address": "12 Harbour Street\nKinsale, Co. Cork",
    "tax_id": "IE1234567T", "locale": "en_IE", "receipt_footer": "Thank you!",
}


class SetupError(Exception):
    """A command-line mistake the admin must fix: one line on stderr, exit 2."""


def demo_staff_ids(seed: int = DEMO_SEED) -> dict[str, str]:
    """The demo staff ids by staff code, exactly as the terminal's demo makes them."""
    return demo_catalog.staff_ids(seed)


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(database_url=getattr(args, "db", None))


def _session(settings: Settings):  # type: ignore[no-untyped-def]
    run_migrations(settings.database_url)
    engine = make_engine(settings.database_url)
    crypto.check_fingerprint(engine, crypto.setup(engine, settings))
    writer, _ = session_factories(engine)
    return writer


def uvicorn_options(args: argparse.Namespace) -> dict[str, Any]:
    """uvicorn's keyword arguments for ``serve``: no ``server: uvicorn`` header, TLS when
    given a certificate, proxy headers trusted only from ``--forwarded-allow-ips``."""
    options: dict[str, Any] = {
        "host": args.host, "port": args.port, "log_level": "info", "server_header": False,
        "proxy_headers": args.proxy_headers,
    }
    if args.forwarded_allow_ips:
        options["forwarded_allow_ips"] = args.forwarded_allow_ips
    if args.ssl_keyfile and not args.ssl_certfile:
        raise SetupError("--ssl-keyfile needs --ssl-certfile")
    for flag, path in (("--ssl-certfile", args.ssl_certfile), ("--ssl-keyfile", args.ssl_keyfile)):
        if path and not Path(path).is_file():
            raise SetupError(f"{flag} {path}: no such file")
    if args.ssl_certfile:
        options["ssl_certfile"] = args.ssl_certfile
        if args.ssl_keyfile:
            options["ssl_keyfile"] = args.ssl_keyfile
    return options


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from server import logging_setup
    from server.main import create_app

    settings = Settings.from_env(database_url=args.db, bind_host=args.host)
    settings.enforce_secure_defaults()
    options = uvicorn_options(args)
    check_workers(settings, args.workers)  # refused before the logging is set up
    try:
        fmt = logging_setup.log_format(args.log_format)
    except ValueError as exc:
        raise SetupError(str(exc)) from exc
    logging_setup.configure(fmt)  # one access line per request, ours (docs/operations.md)
    options |= {"log_config": None, "access_log": False}
    if args.workers > 1:
        serve_workers(settings, args.workers, fmt, options)
        return 0
    app = create_app(settings)
    uvicorn.run(logging_setup.RequestIdentity(app, app.state.ctx), **options)
    return 0


def check_workers(settings: Settings, workers: int) -> None:
    """Refuse a worker count this database cannot take, before anything is set up."""
    if workers > 64:
        raise SetupError(f"--workers {workers}: at most 64")
    if workers > 1 and settings.is_sqlite:
        raise SetupError("--workers needs PostgreSQL: SQLite is served by one process "
                         "(--db postgresql+psycopg://...)")


#: seconds a ``serve --workers`` process may take to answer uvicorn's health ping
WORKER_HEALTHCHECK_S = 30


def serve_workers(settings: Settings, workers: int, fmt: str, options: dict[str, Any]) -> None:
    """``serve --workers N``: N uvicorn worker processes on one socket, on PostgreSQL only
    (SQLite is served by one process). The migrations run once, here, before the workers
    start; each worker builds its app with :func:`worker_app` from the environment this
    sets. Nothing a worker keeps in memory has to be shared (docs/server-deploy.md).
    The worker count was checked by :func:`check_workers` in :func:`cmd_serve`."""
    import os

    import uvicorn

    if settings.run_migrations:
        run_migrations(settings.database_url)
    os.environ.update({"TILLSYNC_DATABASE_URL": settings.database_url,
                       "TILLSYNC_BIND_HOST": settings.bind_host, "TILLSYNC_LOG_FORMAT": fmt,
                       "TILLSYNC_RUN_MIGRATIONS": "false"})
    # uvicorn kills a worker that does not answer its supervisor's ping within this many
    # seconds (default 5): on a machine loaded enough to starve a worker starting up or
    # busy, that killed working processes and their requests (seen at load ~6 on 2 CPUs).
    # A hung worker is found a little later; a busy one is left to finish.
    uvicorn.run("server.cli:worker_app", factory=True, workers=workers,
                timeout_worker_healthcheck=WORKER_HEALTHCHECK_S, **options)


def worker_app() -> Any:
    """The app of one ``serve --workers`` process, from TILLSYNC_* (set by the parent)."""
    from server import logging_setup
    from server.main import create_app

    logging_setup.configure(logging_setup.log_format(None))
    app = create_app(Settings.from_env())
    return logging_setup.RequestIdentity(app, app.state.ctx)


def cmd_create_org(args: argparse.Namespace) -> int:
    """The organization with its defaults (server/ops/org_setup.py): a store, the owner
    when --owner-password/--owner-pin is given, and an enrollment code (text and QR)."""
    from server.ops import org_setup

    settings = _settings(args)
    defaults = org_setup.ShopDefaults(
        store_name=args.store, currency=args.currency, locale=args.locale,
        tax_inclusive=not args.tax_exclusive, address=args.address,
        receipt_footer=args.receipt_footer, owner_name=args.owner,
        owner_password=args.owner_password, owner_pin=args.owner_pin)
    if args.qr and not args.server_url:
        raise SetupError("--qr needs --server-url: the QR code is a link to this server "
                         "as tills reach it, e.g. --server-url https://sync.example.com")
    if args.server_url is not None:  # checked before anything is made
        _check_server_url(args.server_url)
    with _session(settings).begin() as s:
        shop = org_setup.create_shop(s, make_hasher(settings), args.name, defaults)
        print(f"organization {shop.org.id} {shop.org.name}")
        print(f"store        {shop.store.id} {shop.store.name} ({shop.store.currency}, "
              f"{'tax inclusive' if shop.store.tax_inclusive else 'tax exclusive'})")
        if shop.owner is not None:
            print(f"owner        {shop.owner.id} {shop.owner.name} code {shop.owner.code}")
        else:
            print("owner        none yet: tillsync-server create-staff --role owner ...")
    print(f"enrollment code (one-time, 7 days, an owner's till): {shop.code}")
    if args.server_url:
        link = org_setup.enrollment_link(args.server_url, shop.code)
        print(f"first till: {link}")
        if args.qr:
            print(org_setup.qr_text(link))
    else:  # a link to a made-up address would send the first till nowhere
        print("(no enrollment link: give --server-url, this server's address as tills "
              "reach it, for the link and its QR code)", file=sys.stderr)
    return 0


def _check_server_url(server_url: str) -> None:
    """The enrollment link's address, checked as POST /terminals/enrollment-links checks
    it (server/ops/endpoints.py): an http(s) URL with a host, no spaces or control
    characters, since it goes into the link and QR code a till scans."""
    from server.ops.endpoints import EnrollmentLinkIn

    try:
        EnrollmentLinkIn._http_url(server_url)
    except ValueError as exc:
        raise SetupError(f"--server-url: {exc}, e.g. --server-url "
                         "https://sync.example.com") from None


def cmd_create_store(args: argparse.Namespace) -> int:
    with _session(_settings(args)).begin() as s:
        store = tenancy.create_store(s, args.org, args.name, args.currency, not args.tax_exclusive)
        print(f"store {store.id} {store.name} ({store.currency}) org {store.org_id}")
    return 0


def cmd_create_staff(args: argparse.Namespace) -> int:
    settings = _settings(args)
    with _session(settings).begin() as s:
        staff = tenancy.create_staff(
            s, make_hasher(settings), args.org, args.name, Role(args.role),
            pin=args.pin, password=args.password, code=args.code,
        )
        print(f"staff {staff.id} {staff.name} role {staff.role} code {staff.code}")
    return 0


def cmd_terminal_ceiling(args: argparse.Namespace) -> int:
    """Change an enrolled terminal's role ceiling (an admin at the server: no role limit)."""
    with _session(_settings(args)).begin() as s:
        from server.db.models import Terminal

        term = s.get(Terminal, args.terminal)
        if term is None:
            raise SetupError(f"no terminal {args.terminal}")
        before = term.max_role
        terminals.set_ceiling(s, term.org_id, term.id, Role(args.max_role), by_role=None,
                              reason=args.reason)
        print(f"terminal {term.id} {term.name} takes up to {term.max_role} (was {before})")
    return 0


def cmd_enrollment_code(args: argparse.Namespace) -> int:
    settings = _settings(args)
    with _session(settings).begin() as s:
        from server.db.models import Store

        store = s.get(Store, args.store)
        if store is None:
            print(f"no store {args.store}", file=sys.stderr)
            return 2
        code, row = tenancy.create_enrollment_code(
            s, store.org_id, store.id, args.ttl or settings.enrollment_code_ttl_s,
            max_role=args.max_role,
        )
        print(code)
        print(f"(store {store.name}, valid until {row.expires_at.isoformat()}, "
              f"till takes up to {row.max_role})", file=sys.stderr)
    return 0


def seed_demo_catalog(
    session: Session, org_id: str, store_id: str, count: int, seed: int = DEMO_SEED
) -> int:
    """Bulk-insert the terminal demo's catalog and opening stock, with their feed entries.

    Ids, SKUs, barcodes, prices, tax, categories, weighed flags, reorder levels and the
    opening-stock movement ids are those of ``app.demo.seed_catalog``, so a demo
    terminal pulling this store recognises everything it already holds.
    """
    store = session.scalars(select(Store).where(Store.id == store_id).with_for_update()).one()
    now = utcnow()
    rng = random.Random(seed + 1)  # app.demo.seed_catalog's movement ids
    products: list[dict[str, object]] = []
    levels: list[dict[str, object]] = []
    movements: list[dict[str, object]] = []
    feed: list[dict[str, object]] = []
    position = store.feed_position
    n = 0

    def flush() -> None:
        for model, rows in ((Product, products), (StockLevel, levels),
                            (StockMovement, movements), (FeedEntry, feed)):
            if rows:
                session.execute(insert(model), rows)
                rows.clear()

    for p in demo_catalog.generate_products(count, seed):
        n += 1
        row = {"id": p.id, "org_id": org_id, "sku": p.sku, "name": p.name,
               "category": p.category, "price": p.price, "tax_rate_ppm": p.tax_rate_ppm,
               "barcodes": list(p.barcodes), "active": True, "stock_tracked": True,
               "reorder_level_milli": p.reorder_level_milli, "sold_by_weight": p.sold_by_weight,
               "deleted": False, "version": 1, "updated_at": now}
        products.append(row)
        position += 1
        state = {k: v for k, v in row.items() if k != "updated_at"} | {"updated_at": iso(now)}
        feed.append({"store_id": store_id, "position": position, "entity_type": "product",
                     "entity_id": p.id, "version": 1, "deleted": False, "data": state,
                     "created_at": now})
        if p.initial_stock_milli:
            movement_id = demo_catalog.demo_uuid(rng)
            levels.append({"store_id": store_id, "product_id": p.id,
                           "qty_milli": p.initial_stock_milli})
            movements.append({"id": movement_id, "org_id": org_id, "store_id": store_id,
                              "product_id": p.id, "kind": "count",
                              "qty_delta_milli": p.initial_stock_milli,
                              "qty_after_milli": p.initial_stock_milli,
                              "reason": "opening stock", "created_at": now})
            position += 1
            feed.append({"store_id": store_id, "position": position,
                         "entity_type": "stock_movement", "entity_id": movement_id,
                         "version": 1, "deleted": False, "created_at": now, "data": {
                             "id": movement_id, "store_id": store_id, "product_id": p.id,
                             "kind": "count", "qty_delta_milli": p.initial_stock_milli,
                             "qty_on_hand_milli": p.initial_stock_milli,
                             "reason": "opening stock", "reference": None, "actor_id": None,
                             "device_id": None, "created_at": iso(now)}})
        if len(products) >= 2000:
            flush()
    flush()
    store.feed_position = position
    session.add(AuditEntry(org_id=org_id, store_id=store_id, entity_type="store",
                           entity_id=store_id, action="demo.seed",
                           changes={"products": {"before": 0, "after": n}}, reason="demo data"))
    return n


def cmd_demo(args: argparse.Namespace) -> int:
    """The terminal demo's org: store, four staff (same ids, codes, PINs), catalog, stock."""
    settings = _settings(args)
    hasher = make_hasher(settings)
    ids = demo_staff_ids()
    started = time.monotonic()
    with _session(settings).begin() as s:
        if s.get(Staff, ids["1001"]) is not None:
            print("the demo organization already exists", file=sys.stderr)
            return 1
        org = tenancy.create_org(s, "Demo Grocers")
        store = tenancy.create_store(s, org.id, DEMO_STORE["name"], "EUR", True,
                                     **{k: v for k, v in DEMO_STORE.items() if k != "name"})
        print(f"organization {org.id} {org.name}")
        print(f"store        {store.id} {store.name}")
        for name, code, role, pin in demo_catalog.DEMO_STAFF:
            staff = tenancy.create_staff(s, hasher, org.id, name, role, pin=pin,
                                         password=f"demo-{pin}-{code}", staff_id=ids[code],
                                         code=code)
            print(f"staff        {staff.id} {name:<13} {role.value:<8} code {code} PIN {pin} "
                  f"password demo-{pin}-{code}")
        n = seed_demo_catalog(s, org.id, store.id, args.products)
        code, _ = tenancy.create_enrollment_code(s, org.id, store.id, 7 * 24 * 3600,
                                                 max_role=Role.OWNER)  # the demo's owner works
    print(f"products     {n} (with opening stock) in {time.monotonic() - started:.1f} s")
    if args.code_file:
        path = Path(args.code_file)
        path.write_text(code + "\n")
        path.chmod(0o600)
        print(f"enrollment code (one-time, 7 days) written to {path}")
    else:
        print(f"enrollment code (one-time, 7 days): {code}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tillsync-server", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, fn, help_: str) -> argparse.ArgumentParser:  # type: ignore[no-untyped-def]
        p = sub.add_parser(name, help=help_)
        p.add_argument("--db", help="database URL (default TILLSYNC_DATABASE_URL or SQLite file)")
        p.set_defaults(func=fn)
        return p

    p = add("serve", cmd_serve, "run the server")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1,
                   help="worker processes on one socket (PostgreSQL only; default 1)")
    p.add_argument("--ssl-certfile", help="serve HTTPS with this PEM certificate (chain)")
    p.add_argument("--ssl-keyfile", help="the certificate's PEM private key")
    p.add_argument("--log-format", choices=["plain", "json"], default=None,
                   help="log lines on stderr: plain text or JSON lines "
                        "(default TILLSYNC_LOG_FORMAT, else plain)")
    p.add_argument("--proxy-headers", action=argparse.BooleanOptionalAction, default=True,
                   help="trust X-Forwarded-For/-Proto from --forwarded-allow-ips (default on)")
    p.add_argument("--forwarded-allow-ips", default=None,
                   help="proxy addresses whose X-Forwarded-* headers are trusted (default "
                   "uvicorn's: $FORWARDED_ALLOW_IPS or 127.0.0.1)")
    p = add("create-org", cmd_create_org, "create an organization with a store, its owner "
            "and a first enrollment code (all editable afterwards)")
    p.add_argument("name")
    p.add_argument("--store", help="the first store's name (default: the organization's)")
    p.add_argument("--currency", default="EUR")
    p.add_argument("--locale", default="en_IE")
    p.add_argument("--tax-exclusive", action="store_true")
    p.add_argument("--address", default="")
    p.add_argument("--receipt-footer", default="Thank you for shopping with us!")
    p.add_argument("--owner", default="Owner", help="the owner's name")
    p.add_argument("--owner-password", help="the owner's password (back office sign-in)")
    p.add_argument("--owner-pin", help="the owner's PIN (till sign-in)")
    p.add_argument("--server-url", default=None,
                   help="this server's address as tills reach it, e.g. "
                   "https://sync.example.com (prints the enrollment link; without it, no link)")
    p.add_argument("--qr", action="store_true",
                   help="draw the enrollment link as a QR code (needs --server-url)")
    p = add("create-store", cmd_create_store, "create a store of an organization")
    p.add_argument("--org", required=True)
    p.add_argument("--currency", default="EUR")
    p.add_argument("--tax-exclusive", action="store_true")
    p.add_argument("name")
    p = add("create-staff", cmd_create_staff, "create a staff member")
    p.add_argument("--org", required=True)
    p.add_argument("--role", required=True, choices=[r.value for r in Role])
    p.add_argument("--pin")
    p.add_argument("--password")
    p.add_argument("--code", help="short staff number for PIN sign-in (default: next free)")
    p.add_argument("name")
    p = add("enrollment-code", cmd_enrollment_code, "print a one-time terminal enrollment code")
    p.add_argument("--store", required=True)
    p.add_argument("--ttl", type=int, help="seconds the code stays valid")
    p.add_argument("--max-role", default=Role.MANAGER.value, choices=[r.value for r in Role],
                   help="the most senior role that may work on the till (default manager; "
                   "owner for the back-office PC); pushed ops above it are refused")
    p = add("terminal-ceiling", cmd_terminal_ceiling,
            "change an enrolled terminal's role ceiling (no re-enrolling)")
    p.add_argument("--terminal", required=True, help="the terminal's id (GET /terminals)")
    p.add_argument("--max-role", required=True, choices=[r.value for r in Role],
                   help="the most senior role that may work on the till from now on")
    p.add_argument("--reason", help="why, for the audit trail")
    p = add("demo", cmd_demo, "seed the demo organization matching the terminal's demo")
    p.add_argument("--products", type=int, default=2000,
                   help="catalog size (default 2000, as the terminal's demo)")
    p.add_argument("--code-file", help="write the one-time enrollment code to this file "
                   "instead of printing it")
    from server.analytics.cli import add_parser as add_analytics
    add_analytics(add)
    from server.journal.cli import add_parser as add_journal
    add_journal(add)
    from server.ops.cli import add_parser as add_ops
    add_ops(add)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; a set-up problem the admin must fix (a missing or wrong data
    key, a default secret in production mode, a missing certificate file, a PIN too
    short for the role) is one line on stderr and exit 2, not a traceback."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (crypto.DataKeyError, InsecureSettingsError, SetupError) as exc:
        print(f"tillsync-server: {exc}", file=sys.stderr)
        return 2
    except ApiError as exc:  # a rule the service enforces, e.g. a PIN too short
        print(f"tillsync-server: {exc.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
