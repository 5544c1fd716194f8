"""The terminal's local store: the database, this device's identity and the data key."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from app.domain.ids import new_id
from app.store import keys, upgrades
from app.store.crypto import PersonalDataCipher
from app.store.database import Database
from app.store.models import Device, StoreSettings, SyncState

DB_FILE = "tillsync.sqlite"
KEY_CHECK = "local.data_key_check"  # sync_state row: fingerprint of the data key
ROTATION = "local.data_key_rotation"  # sync_state row of an unfinished key rotation


@dataclass
class LocalStore:
    data_dir: Path
    db: Database
    device_id: str
    cipher: PersonalDataCipher
    key_source: str

    def settings(self) -> StoreSettings:
        with self.db.read() as s:
            settings = s.scalars(select(StoreSettings)).one()
            s.expunge(settings)
            return settings

    def device(self) -> Device:
        with self.db.read() as s:
            device = s.get(Device, self.device_id)
            assert device is not None
            s.expunge(device)
            return device

    def close(self) -> None:
        self.db.close()


def open_store(
    data_dir: Path,
    *,
    passphrase: str | None = None,
    store_name: str = "Tillsync Store",
    device_code: str = "00",
    rotating: bool = False,
) -> LocalStore:
    """Open (creating and migrating if new) the store in ``data_dir``.

    A new store gets a device row and default store settings; enrollment with the
    server later replaces the device code and store id with the ones it assigns.
    """
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(data_dir / DB_FILE)
    with db.write() as s:
        device = s.scalars(select(Device)).first()
        settings = s.scalars(select(StoreSettings)).first()
        if settings is None:
            settings = StoreSettings(id=new_id(), name=store_name)
            s.add(settings)
            s.flush()
        if device is None:
            device = Device(id=new_id(), code=device_code, store_id=settings.id)
            s.add(device)
        device_id = device.id
    try:
        with db.read() as s:
            check = s.get(SyncState, KEY_CHECK)
            expected = check.value if check is not None else None
            unfinished = s.get(SyncState, ROTATION) is not None
        if unfinished and not rotating:
            raise keys.KeyUnavailable(
                "A rotation of the customer-data key is unfinished (the till was stopped "
                "in the middle): run `tillsync keys rotate` again to finish it; nothing "
                "is lost meanwhile. See docs/terminal-setup.md.")
        loaded = keys.load_or_create(data_dir, device_id, passphrase, create=expected is None)
        actual = keys.key_check(loaded.key)
        if expected is not None and expected != actual and not unfinished:
            from app.store.key_rotation import promote  # a finished rotation's last step

            promoted = promote(data_dir, device_id, passphrase)
            if promoted is not None and keys.key_check(promoted) == expected:
                loaded = keys.LoadedKey(promoted, loaded.source)
                actual = expected
        retired = keys.read_slot(data_dir, device_id, keys.RETIRED, passphrase)
        if expected is None:
            with db.write() as s:
                s.merge(SyncState(key=KEY_CHECK, value=actual))
        elif expected != actual and any(keys.key_check(k) == expected for k in retired):
            # a backup taken before a rotation was restored: its customers are sealed
            # with a key this till has since retired; bring them to the current key
            from app.store.key_rotation import reseal_restored

            db.set_cipher(PersonalDataCipher(loaded.key, retired))
            reseal_restored(db, device_id, PersonalDataCipher(loaded.key, retired),
                            from_check=expected, to_check=actual)
        elif expected != actual:
            raise keys.KeyUnavailable(
                f"The data key found in the {loaded.source} is not the key this store's "
                "customer data was encrypted with. Restore the right keyring entry or "
                "data-key.enc; Tillsync will not mix two keys in one store."
            )
    except Exception:
        db.close()
        raise
    cipher = PersonalDataCipher(loaded.key, retired)  # retired keys: earlier rotations'
    db.set_cipher(cipher)
    try:
        upgrades.after_key_loaded(db, cipher)  # data upgrades a migration left for the key
    except BaseException:
        db.close()
        raise
    return LocalStore(data_dir, db, device_id, cipher, loaded.source)
