"""Where the data key lives (keyring / passphrase file / refusal) and PIN sign-in with lockout."""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.domain.permissions import Role
from app.services import customers, staff
from app.services.customers import CustomerDetails
from app.store import keys
from app.store.base import utcnow
from app.store.keys import KEY_FILE, PASSPHRASE_ENV, KeyUnavailable
from app.store.local import open_store
from app.store.models import Staff
from app.store.unit_of_work import mutation
from tests.conftest import TEST_PASSPHRASE, MemoryKeyring, add_test_staff


@pytest.fixture(autouse=True)
def _no_env_passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)


def _add_customer(store) -> str:
    from app.store.models import Customer

    with store.db.write() as s:
        c = customers.upsert_in(s, store.cipher, CustomerDetails(None, "Aoife Key", "0861234567", None))
        s.flush()
        assert isinstance(c, Customer)
        return c.id


def _files_contain(data_dir: Path, key: bytes) -> bool:
    forms = [key, key.hex().encode(), base64.b64encode(key), base64.urlsafe_b64encode(key)]
    return any(f in p.read_bytes() for p in data_dir.rglob("*") if p.is_file() for f in forms)


def test_key_goes_to_the_keyring(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    data = tmp_path / "d"
    store = open_store(data)
    assert store.key_source == "keyring"
    _add_customer(store)
    store.close()
    assert not (data / KEY_FILE).exists()
    ((service, account),) = memory_keyring.secrets
    assert service == "tillsync" and account.startswith("data-key/")
    key = base64.b64decode(memory_keyring.secrets[(service, account)])
    assert len(key) == 32
    assert not _files_contain(data, key)
    store = open_store(data)  # same key back from the keyring
    try:
        assert customers.find_by_phone(store, "086 123 4567").name == "Aoife Key"
    finally:
        store.close()


def test_no_keyring_and_no_passphrase_refuses(tmp_path: Path, no_keyring: None) -> None:
    data = tmp_path / "d"
    with pytest.raises(KeyUnavailable, match=PASSPHRASE_ENV) as exc:
        open_store(data)
    assert "keyring" in str(exc.value).lower()
    names = sorted(p.name for p in data.iterdir())
    assert KEY_FILE not in names
    assert all(n.startswith("tillsync.sqlite") for n in names), names
    for p in data.iterdir():
        assert b"data-key" not in p.read_bytes()


def test_passphrase_key_file(tmp_path: Path, no_keyring: None) -> None:
    data = tmp_path / "d"
    store = open_store(data, passphrase=TEST_PASSPHRASE)
    assert store.key_source == "key-file"
    _add_customer(store)
    store.close()
    assert (data / KEY_FILE).exists()
    assert (data / KEY_FILE).stat().st_mode & 0o077 == 0
    key = keys.read_key_file(data / KEY_FILE, TEST_PASSPHRASE)
    assert len(key) == 32 and not _files_contain(data, key)
    with pytest.raises(KeyUnavailable, match="passphrase"):
        open_store(data, passphrase="wrong-passphrase")
    with pytest.raises(KeyUnavailable, match=PASSPHRASE_ENV):
        open_store(data)  # the key file is there, but nothing opens it
    store = open_store(data, passphrase=TEST_PASSPHRASE)
    try:
        assert customers.find_by_phone(store, "+0861234567") is None  # '+' makes it another number
        assert customers.find_by_phone(store, "(086) 123-4567").name == "Aoife Key"
    finally:
        store.close()


def test_passphrase_from_environment(tmp_path: Path, no_keyring: None, monkeypatch) -> None:
    monkeypatch.setenv(PASSPHRASE_ENV, "from-the-env")
    store = open_store(tmp_path / "d")
    store.close()
    assert keys.read_key_file(tmp_path / "d" / KEY_FILE, "from-the-env")


def test_a_lost_key_is_not_silently_replaced(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    """If the keyring loses the key, a new one must not be minted over existing customer data."""
    data = tmp_path / "d"
    store = open_store(data)
    _add_customer(store)
    store.close()
    memory_keyring.secrets.clear()
    with pytest.raises(KeyUnavailable, match="key"):
        open_store(data)


# ---------------------------------------------------------------- staff sign-in


def test_sign_in(store, pin_hashes) -> None:
    add_test_staff(store, pin_hashes)
    actor = staff.sign_in(store, "1003", "3333")
    assert actor.role is Role.CASHIER and actor.name == "Cass Cashier"
    with pytest.raises(staff.SignInError, match="Unknown"):
        staff.sign_in(store, "9999", "3333")
    with pytest.raises(staff.SignInError, match="4 tries left"):
        staff.sign_in(store, "1003", "0000")
    # a good PIN clears the count
    staff.sign_in(store, "1003", "3333")
    with store.db.read() as s:
        assert s.scalar(select(Staff.failed_pins).where(Staff.code == "1003")) == 0


def test_lockout_after_five_failures_survives_restart(tmp_path: Path, no_keyring, pin_hashes) -> None:
    data = tmp_path / "d"
    store = open_store(data, passphrase=TEST_PASSPHRASE)
    add_test_staff(store, pin_hashes)
    for left in (4, 3, 2, 1):
        with pytest.raises(staff.SignInError, match=f"{left} tries left"):
            staff.sign_in(store, "1003", "9999")
    with pytest.raises(staff.SignInError, match="Locked for 5 minutes"):
        staff.sign_in(store, "1003", "9999")
    with pytest.raises(staff.SignInError, match="Too many wrong PINs"):
        staff.sign_in(store, "1003", "3333")  # the right PIN does not lift the lock
    store.close()
    store = open_store(data, passphrase=TEST_PASSPHRASE)  # restarting the app does not either
    try:
        with pytest.raises(staff.SignInError, match="Try again in 5 min"):
            staff.sign_in(store, "1003", "3333")
        # other staff are unaffected
        assert staff.sign_in(store, "1002", "222222").role is Role.MANAGER
        with store.db.read() as s:
            locked_until = s.scalar(select(Staff.locked_until).where(Staff.code == "1003"))
        locked_until = locked_until.replace(tzinfo=utcnow().tzinfo)
        assert timedelta(minutes=4) < locked_until - utcnow() <= timedelta(minutes=5)
        # five minutes later the lock is gone
        with store.db.write() as s:
            person = s.scalars(select(Staff).where(Staff.code == "1003")).one()
            person.locked_until = utcnow() - timedelta(seconds=1)
        assert staff.sign_in(store, "1003", "3333").role is Role.CASHIER
    finally:
        store.close()


def test_manager_override(store, pin_hashes) -> None:
    add_test_staff(store, pin_hashes)
    assert staff.verify_override(store, "1002", "222222", "order.delete").role is Role.MANAGER
    with pytest.raises(staff.SignInError, match="cannot approve"):
        staff.verify_override(store, "1003", "3333", "order.delete")


def test_mutation_needs_a_device(store, pin_hashes) -> None:
    actors = add_test_staff(store, pin_hashes)
    with pytest.raises(RuntimeError, match="device"), \
            mutation(store.db, "not-a-device", actors[Role.OWNER], "x"):
        pass


def test_a_different_key_is_refused(tmp_path: Path, no_keyring: None) -> None:
    """A key file swapped for another one (another store's) does not open this store."""
    data = tmp_path / "d"
    open_store(data, passphrase=TEST_PASSPHRASE).close()
    keys.write_key_file(data / KEY_FILE, b"\x01" * 32, TEST_PASSPHRASE)
    with pytest.raises(KeyUnavailable, match="not the key"):
        open_store(data, passphrase=TEST_PASSPHRASE)
