"""A full disk is said in words (DiskFull), nothing is half written, and a nearly full
disk is warned about: on a real small disk (tmpfs) and with SQLite's own page limit."""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.demo import seed_catalog
from app.domain.cart import Cart
from app.domain.permissions import Role
from app.domain.tender import Method, Tender
from app.services import catalog, sales
from app.store.disk import DiskFull, Space, disk_full, space_warning
from app.store.local import open_store
from app.store.models import Order
from sync.status import read_status
from tests.conftest import TEST_PASSPHRASE, add_test_staff
from tests.diskfull import fill, small_disk


def _cart(store) -> Cart:
    cart = Cart(tax_inclusive=True)
    (row,) = catalog.search(store, "a", limit=1)
    cart.add(catalog.line_for_product(store, row.id))
    return cart


def _orders(store) -> int:
    with store.db.read() as s:
        return s.scalar(select(func.count()).select_from(Order)) or 0


def _sell(store, actor, cart: Cart) -> sales.SaleResult:
    total = cart.totals().total
    return sales.record_sale(store, actor, cart, [Tender(Method.CARD, total)])


def test_a_sale_on_a_full_disk_is_disk_full_in_words(tmp_path: Path, no_keyring, pin_hashes) -> None:
    with small_disk(tmp_path / "disk", 24) as disk:
        store = open_store(disk / "till", passphrase=TEST_PASSPHRASE)
        try:
            actor = add_test_staff(store, pin_hashes)[Role.CASHIER]
            seed_catalog(store, 50)
            _sell(store, actor, _cart(store))  # a sale goes through while there is room
            raw = store.db.writer.raw_connection()  # the WAL must grow for the next sale
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
            raw.close()
            filler = fill(disk)
            cart = _cart(store)
            with pytest.raises(DiskFull) as caught:
                _sell(store, actor, cart)
            text = str(caught.value)
            assert text.startswith(f"The disk of this till is full ({disk / 'till'})")
            assert "The sale on the screen is kept" in text and "call your support person" in text
            assert _orders(store) == 1  # rolled back whole: nothing half written
            assert len(cart.lines) == 1  # the cart the caller holds is untouched
            assert read_status(store).disk_warning  # the status says it too
            filler.unlink()  # space freed: the same cart sells
            assert _sell(store, actor, cart).reference
            assert _orders(store) == 2
        finally:
            store.close()


def test_sqlite_page_limit_gives_the_same_words(store, actors) -> None:
    """SQLite's "database or disk is full" made without a small disk: max_page_count."""
    seed_catalog(store, 20)
    raw = store.db.writer.raw_connection()
    pages = raw.cursor().execute("PRAGMA page_count").fetchone()[0]
    raw.close()

    from sqlalchemy import event

    @event.listens_for(store.db.writer, "connect")
    def _limit(dbapi_conn, _rec) -> None:
        dbapi_conn.execute(f"PRAGMA max_page_count={pages}")

    store.db.writer.dispose()  # new connections carry the limit
    with pytest.raises(DiskFull, match="The disk of this till is full"):
        for _ in range(200):  # the first sale may fit in free pages
            _sell(store, actors[Role.CASHIER], _cart(store))


def test_disk_full_is_found_in_any_wrapping() -> None:
    err = sqlite3.OperationalError("database or disk is full")
    err.sqlite_errorcode = 13  # type: ignore[attr-defined]
    try:
        try:
            raise err
        except sqlite3.OperationalError as inner:
            raise RuntimeError("queue") from inner
    except RuntimeError as outer:
        assert disk_full(outer) is not None
    nospace = OSError(errno.ENOSPC, "No space left on device", "/var/lib/till/print_queue.sqlite")
    full = disk_full(nospace)
    assert full is not None and "(/var/lib/till/print_queue.sqlite)" in str(full)
    assert disk_full(OSError(errno.EACCES, "Permission denied")) is None
    assert disk_full(ValueError("database or disk is full")) is None  # the code, not the words


def test_space_warning_threshold(tmp_path: Path) -> None:
    gb = 1024 ** 3
    assert space_warning(tmp_path, Space(free=400 * 1024 ** 2, total=100 * gb))  # under 500 MB
    assert space_warning(tmp_path, Space(free=int(1.5 * gb), total=40 * gb))  # 3.75 % and < 2 GB
    assert space_warning(tmp_path, Space(free=20 * gb, total=1000 * gb)) is None  # 2 % of a big disk
    assert space_warning(tmp_path, Space(free=10 * gb, total=100 * gb)) is None
    text = space_warning(tmp_path, Space(free=300 * 1024 ** 2, total=10 * gb))
    assert text and "300 MB free (3 %)" in text and "Sales go on" in text
