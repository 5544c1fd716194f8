"""``tillsync-server``: serve, bootstrap tenants, make enrollment codes, seed a demo org."""

from __future__ import annotations

import argparse
import random
import sys
import uuid
from collections.abc import Sequence

from app.domain.permissions import Role
from server.config import Settings
from server.db.engine import make_engine, run_migrations, session_factories
from server.db.models import Staff
from server.security import make_hasher
from server.tenancy import service as tenancy

# The terminal's demo (app/demo.py) makes the same staff ids from the same seed.
DEMO_STAFF = [
    ("Olivia Owner", "1001", Role.OWNER, "1111"),
    ("Max Manager", "1002", Role.MANAGER, "2222"),
    ("Cass Cashier", "1003", Role.CASHIER, "3333"),
    ("Sam Stock", "1004", Role.STOCK, "4444"),
]
DEMO_SEED = 7


def demo_uuid(rng: random.Random) -> str:
    """A deterministic UUIDv7-shaped id, exactly as app/demo.py makes them."""
    value = rng.getrandbits(128)
    value = (value & ~(0xF << 76)) | (0x7 << 76)
    value = (value & ~(0x3 << 62)) | (0x2 << 62)
    return str(uuid.UUID(int=value))


def demo_staff_ids(seed: int = DEMO_SEED) -> dict[str, str]:
    rng = random.Random(seed * 7919)
    return {code: demo_uuid(rng) for _, code, _, _ in DEMO_STAFF}


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(database_url=getattr(args, "db", None))


def _session(settings: Settings):  # type: ignore[no-untyped-def]
    run_migrations(settings.database_url)
    writer, _ = session_factories(make_engine(settings.database_url))
    return writer


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from server.main import create_app

    settings = _settings(args)
    if args.workers > 1:
        print("use `uvicorn --factory server.main:create_app --workers N` for several workers")
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info")
    return 0


def cmd_create_org(args: argparse.Namespace) -> int:
    with _session(_settings(args)).begin() as s:
        org = tenancy.create_org(s, args.name)
        print(f"organization {org.id} {org.name}")
    return 0


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
            pin=args.pin, password=args.password,
        )
        print(f"staff {staff.id} {staff.name} role {staff.role}")
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
            s, store.org_id, store.id, args.ttl or settings.enrollment_code_ttl_s
        )
        print(code)
        print(f"(store {store.name}, valid until {row.expires_at.isoformat()})", file=sys.stderr)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """One org, one store, the four demo staff with the terminal demo's ids, a code."""
    settings = _settings(args)
    hasher = make_hasher(settings)
    ids = demo_staff_ids()
    with _session(settings).begin() as s:
        if s.get(Staff, ids["1001"]) is not None:
            print("the demo organization already exists", file=sys.stderr)
            return 1
        org = tenancy.create_org(s, "Demo Grocers")
        store = tenancy.create_store(s, org.id, "Demo Grocers - Main Street", "EUR", True)
        print(f"organization {org.id} {org.name}")
        print(f"store        {store.id} {store.name}")
        for name, code, role, pin in DEMO_STAFF:
            staff = tenancy.create_staff(s, hasher, org.id, name, role, pin=pin,
                                         password=f"demo-{pin}-{code}", staff_id=ids[code])
            print(f"staff        {staff.id} {name:<13} {role.value:<8} PIN {pin} "
                  f"password demo-{pin}-{code}")
        code, _ = tenancy.create_enrollment_code(s, org.id, store.id, 7 * 24 * 3600)
        print(f"enrollment code (7 days): {code}")
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
    p.add_argument("--workers", type=int, default=1)
    p = add("create-org", cmd_create_org, "create an organization")
    p.add_argument("name")
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
    p.add_argument("name")
    p = add("enrollment-code", cmd_enrollment_code, "print a one-time terminal enrollment code")
    p.add_argument("--store", required=True)
    p.add_argument("--ttl", type=int, help="seconds the code stays valid")
    add("demo", cmd_demo, "seed the demo organization matching the terminal's demo")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
