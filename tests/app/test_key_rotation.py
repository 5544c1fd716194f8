"""Rotating the till's customer-data key (issue 16 item 6, the till's side; `tillsync
keys rotate`): every customer row re-sealed and re-indexed with a new key in batches;
SIGKILLed again and again in the middle, every row still opens with one of the two keys
(never a row under no key), the store refuses to open for the app until the command is
run again, and the rotation then finishes: every row opens with the new key alone, phone
look-up works, the old key is kept as a retired key that opens what was sealed before,
and the rotation is audited."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from app.services.customers import CustomerDetails, find_by_phone, upsert_in
from app.store import key_rotation, keys
from app.store.crypto import PersonalDataCipher
from app.store.local import open_store
from app.store.models import AuditEntry, Customer
from tests.conftest import TEST_PASSPHRASE

ROOT = Path(__file__).resolve().parents[2]
PHONES = [f"+353 86 555 {i:04d}" for i in range(9)]


def _child(data_dir: Path, kill_after: int) -> int:
    done = subprocess.run([sys.executable, "-m", "tests.app.key_rotate_child", str(data_dir),
                           str(kill_after), "2"], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT),
                               keys.PASSPHRASE_ENV: TEST_PASSPHRASE})
    assert done.returncode in (0, -9), done.stderr[-2000:]
    return done.returncode


def _key(data_dir: Path, name: str) -> bytes:
    return keys.read_key_file(data_dir / name, TEST_PASSPHRASE)


def _rows(data_dir: Path) -> list[Customer]:
    from app.store.database import Database

    db = Database(data_dir / "tillsync.sqlite")
    try:
        with db.read() as s:
            rows = list(s.scalars(select(Customer)).all())
            for r in rows:
                s.expunge(r)
            return rows
    finally:
        db.close()


def _opens_with(cipher: PersonalDataCipher, rows: list[Customer]) -> list[str]:
    return sorted(cipher.decrypt(r.phone_enc, field="phone") or "" for r in rows)


def _seed(store) -> bytes:  # type: ignore[no-untyped-def]
    with store.db.write() as s:
        for i, phone in enumerate(PHONES):
            upsert_in(s, store.cipher, CustomerDetails(None, f"Customer {i}", phone,
                                                       f"c{i}@example.com"))
    return store.cipher.encrypt("sealed before the rotation", field="journal")  # type: ignore[return-value]


def test_a_rotation_killed_again_and_again_loses_no_customer(store) -> None:  # type: ignore[no-untyped-def]
    data_dir = store.data_dir
    before = _seed(store)
    store.close()
    old = _key(data_dir, keys.KEY_FILE)

    kills = 0
    for kill_after in (1, 1, 2):  # 9 customers, 2 a batch: 5 batches
        assert _child(data_dir, kill_after) == -9
        kills += 1
        new = _key(data_dir, "data-key.next.enc")
        # every row opens with one of the two keys (the old one is still in its place)
        assert _opens_with(PersonalDataCipher(new, [old]), _rows(data_dir)) == sorted(PHONES)
        assert _key(data_dir, keys.KEY_FILE) == old
        with pytest.raises(keys.KeyUnavailable, match="unfinished"):
            open_store(data_dir, passphrase=TEST_PASSPHRASE)
    assert kills == 3
    assert _child(data_dir, 10_000) == 0

    assert not (data_dir / "data-key.next.enc").exists()
    assert _key(data_dir, keys.KEY_FILE) == new
    assert _key(data_dir, "data-key.retired.enc") == old
    rows = _rows(data_dir)
    alone = PersonalDataCipher(new)  # no retired key: the new one alone
    assert _opens_with(alone, rows) == sorted(PHONES)
    assert sorted(alone.decrypt(r.name_enc, field="name") or "" for r in rows) == sorted(
        f"Customer {i}" for i in range(len(PHONES)))
    assert {r.phone_index for r in rows} == {alone.phone_index(p) for p in PHONES}

    again = open_store(data_dir, passphrase=TEST_PASSPHRASE)
    try:
        assert all(find_by_phone(again, p) is not None for p in PHONES)
        assert again.cipher.decrypt(before, field="journal") == "sealed before the rotation"
        with again.db.read() as s:
            entry = s.scalars(select(AuditEntry).where(
                AuditEntry.action == key_rotation.ROTATED)).one()
            assert entry.entity_id == again.device_id
    finally:
        again.close()


def test_killed_after_the_last_batch_the_store_finishes_the_swap_on_opening(
        store, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    data_dir = store.data_dir
    _seed(store)

    def killed(*_a: object, **_k: object) -> None:
        raise KeyboardInterrupt  # stands for a kill after the store's last transaction

    monkeypatch.setattr(key_rotation, "promote", killed)
    with pytest.raises(KeyboardInterrupt):
        key_rotation.rotate_key(store, passphrase=TEST_PASSPHRASE, batch=4)
    store.close()
    monkeypatch.undo()
    again = open_store(data_dir, passphrase=TEST_PASSPHRASE)
    try:
        assert all(find_by_phone(again, p) is not None for p in PHONES)
        assert not (data_dir / "data-key.next.enc").exists()
    finally:
        again.close()


def test_a_backup_taken_before_a_rotation_restores_and_is_resealed(store, tmp_path: Path
                                                                    ) -> None:  # type: ignore[no-untyped-def]
    """Issue 16: a till's backup from before `keys rotate` opens with the retired key; the
    restored store's customers come back under the current key (phone look-ups work
    with it alone) and the re-seal is audited. Before: restore refused ('another data
    key'), and the store could not have opened the file anyway."""
    from app.services.backup import BackupPolicy, backup_now
    from app.services.restore import restore

    data_dir = store.data_dir
    _seed(store)
    path = backup_now(store, BackupPolicy(directory=tmp_path / "b")).path
    key_rotation.rotate_key(store, passphrase=TEST_PASSPHRASE, batch=4)
    store.close()
    current = _key(data_dir, keys.KEY_FILE)
    assert _key(data_dir, "data-key.retired.enc") != current

    restore(data_dir, path, passphrase=TEST_PASSPHRASE, force=True)
    back = open_store(data_dir, passphrase=TEST_PASSPHRASE)
    try:
        assert all(find_by_phone(back, p) is not None for p in PHONES)
        with back.db.read() as s:
            entry = s.scalars(select(AuditEntry).where(
                AuditEntry.action == key_rotation.RESEALED)).one()
            assert entry.changes["customers"] == len(PHONES)  # type: ignore[index]
    finally:
        back.close()
    rows = _rows(data_dir)
    alone = PersonalDataCipher(current)  # the current key alone opens every row now
    assert _opens_with(alone, rows) == sorted(PHONES)
    assert {r.phone_index for r in rows} == {alone.phone_index(p) for p in PHONES}
    again = open_store(data_dir, passphrase=TEST_PASSPHRASE)  # opens plainly, nothing to do
    again.close()


def test_a_backup_under_an_unknown_key_is_refused_in_words(store, tmp_path: Path
                                                            ) -> None:  # type: ignore[no-untyped-def]
    from app.services.backup import BackupPolicy, backup_now
    from app.services.restore import restore
    from app.store.backup import BackupError

    data_dir = store.data_dir
    path = backup_now(store, BackupPolicy(directory=tmp_path / "b")).path
    store.close()
    keys.write_key_file(data_dir / keys.KEY_FILE, os.urandom(32), TEST_PASSPHRASE)
    with pytest.raises(BackupError, match="another data key"):
        restore(data_dir, path, passphrase=TEST_PASSPHRASE, force=True)
