"""Save this release's files as upgrade fixtures: tests/fixtures/releases/<version>/.

Why (docs/backup-restore.md, "Upgrades"): an upgrade must open every file an earlier
release wrote, with every row kept. Tests that migrate down and up only prove the
migrations are reversible; these files are what a shop really has. Run once per
release, before it ships, and commit the directory; tests/app/test_release_upgrades.py
opens every saved release with the newest code.

    python scripts/save_release_fixtures.py [--version X.Y.Z]

What is saved (small, made with the demo data and fixed passphrases):
- ``till/``: the store (tillsync.sqlite, its data-key.enc under passphrase "fixture"),
  the print queue (print_queue.sqlite with printers, jobs, a setting) and the scanner
  settings (scanner.json);
- ``server/``: the server on SQLite (server.db and its tillsync-server-data.key) with
  an organization, staff, 30 products and a till's pushed sales;
- ``manifest.json``: the row count of every table, and the settings, as saved.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PASSPHRASE = "fixture"


def counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    finally:
        conn.close()


def _checkpoint(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()


def save_till(dest: Path, server_url: str, code: str) -> dict[str, object]:
    from app import demo
    from app.domain.cart import Cart, CartLine
    from app.domain.tender import Method, Tender
    from app.services.customers import CustomerDetails
    from app.services.sales import record_sale
    from app.store.local import open_store
    from app.store.unit_of_work import Actor
    from printing.connections import PrinterConfig
    from printing.queue import QUEUE_FILE, PrintQueue
    from sync.enroll import enroll
    from sync.service import SyncService, client_factory_for
    from ui.config import ScannerConfig, save_scanner

    store = open_store(dest, passphrase=PASSPHRASE)
    asyncio.run(enroll(store, server_url, code, "Fixture till", passphrase=PASSPHRASE))
    asyncio.run(SyncService(store, client_factory_for(store, PASSPHRASE)).run_once())
    demo.seed(store, 30)
    staff = store_staff(store)
    for i in range(12):
        cart = Cart(tax_inclusive=True)
        cart.add(CartLine(product_id=None, sku=None, name=f"Item {i}", unit_price=100 + i,
                          tax_rate_ppm=230_000, qty_milli=1000))
        customer = CustomerDetails(None, "Ann Customer", "+353 86 123 4567", None) \
            if i % 4 == 0 else None
        record_sale(store, Actor(*staff), cart, [Tender(Method.CASH, cart.totals().total)],
                    customer=customer)
    asyncio.run(SyncService(store, client_factory_for(store, PASSPHRASE)).run_once())
    for _ in range(2):  # and two waiting (not yet synced)
        cart = Cart(tax_inclusive=True)
        cart.add(CartLine(product_id=None, sku=None, name="Late", unit_price=500,
                          tax_rate_ppm=230_000, qty_milli=1000))
        record_sale(store, Actor(*staff), cart, [Tender(Method.CASH, cart.totals().total)])
    queue = PrintQueue(dest / QUEUE_FILE, cipher=store.cipher)
    queue.save_printer(PrinterConfig("Front", "network", "192.0.2.10", 9100, 9600, 80,
                                     True, True))
    for i in range(3):
        queue.add("Front", "receipt", f"receipt {i}\n".encode(), reference=f"REF{i}")
    scanner = ScannerConfig(max_interval_ms=25, prefix="]C1", serial_port="/dev/ttyACM0")
    save_scanner(dest, scanner)
    store.close()
    for name in ("tillsync.sqlite", QUEUE_FILE):
        _checkpoint(dest / name)
    return {"scanner": json.loads((dest / "scanner.json").read_text())}


def store_staff(store):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from app.domain.permissions import Role
    from app.store.models import Staff

    with store.db.read() as s:
        person = s.scalars(select(Staff).where(Staff.role == "cashier")).first()
        assert person is not None
        return person.id, person.name, Role.CASHIER


def main() -> int:
    parser = argparse.ArgumentParser()
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    parser.add_argument("--version", default=version)
    args = parser.parse_args()
    out = ROOT / "tests" / "fixtures" / "releases" / args.version
    if out.exists():
        print(f"{out} exists; a release's files are saved once", file=sys.stderr)
        return 1
    os.environ["TILLSYNC_KEY_PASSPHRASE"] = PASSPHRASE
    import keyring
    from keyring.backends import fail

    keyring.set_keyring(fail.Keyring())  # the key in data-key.enc, never the OS keyring
    from app.domain.permissions import Role
    from server.config import Settings
    from server.ops.org_setup import ShopDefaults, create_shop
    from tests.server.support import running_server

    work = Path(tempfile.mkdtemp())
    server_dir, till_dir = work / "server", work / "till"
    server_dir.mkdir()
    settings = Settings(database_url=f"sqlite:///{server_dir / 'server.db'}",
                        jwt_secret="fixture-" + "x" * 40, argon2_time_cost=1,
                        argon2_memory_kib=8192, webhook_urls=[])
    with running_server(settings) as srv:
        with srv.ctx.writer.begin() as s:
            from server.cli import seed_demo_catalog
            from server.tenancy import service as tenancy

            shop = create_shop(s, srv.ctx.hasher, "Fixture Shop", ShopDefaults(
                owner_pin="135790", owner_password="fixture password"))
            tenancy.create_staff(s, srv.ctx.hasher, shop.org.id, "Cass Cashier", Role.CASHIER,
                                 pin="2469")
            seed_demo_catalog(s, shop.org.id, shop.store.id, 30)
            code = shop.code
        extra = save_till(till_dir, srv.base_url, code)
    _checkpoint(server_dir / "server.db")
    manifest = {"version": args.version, "passphrase": PASSPHRASE,
                "till": counts(till_dir / "tillsync.sqlite"),
                "print_queue": counts(till_dir / "print_queue.sqlite"),
                "server": counts(server_dir / "server.db"), **extra}
    out.mkdir(parents=True)
    for sub in (server_dir, till_dir):
        shutil.copytree(sub, out / sub.name,
                        ignore=shutil.ignore_patterns("*-wal", "*-shm", "*.tmp", "pdfs"))
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    shutil.rmtree(work, ignore_errors=True)
    print(f"saved {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
