"""Where the terminal's data key lives: the OS keyring, or an explicit encrypted key file.

The normal home of the key is the OS keyring (Windows Credential Manager, macOS
Keychain, Secret Service on a Linux desktop). A headless Linux till has no keyring
backend (keyring raises NoKeyringError). Then, and only when the admin has set a
passphrase (``TILLSYNC_KEY_PASSPHRASE`` or ``--key-passphrase-file``), the key is
kept in ``data-key.enc`` in the data directory, wrapped with AES-GCM under a key
derived from that passphrase with scrypt. With neither, Tillsync refuses to start
with a message saying so: it never falls back to a plaintext key silently.
Plaintext keyring backends (keyrings.alt) count as "no keyring".
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from app.store.crypto import KEY_BYTES
from app.store.database import PRIVATE_FILE, tighten

SERVICE = "tillsync"
KEY_FILE = "data-key.enc"
PASSPHRASE_ENV = "TILLSYNC_KEY_PASSPHRASE"


class KeyUnavailable(RuntimeError):
    """No safe place for the data key; the message tells the admin what to do."""


class DamagedKeyFile(KeyUnavailable):
    """A sealed key or credential file that cannot be read as one (cut short, overwritten)."""


@dataclass(frozen=True)
class LoadedKey:
    key: bytes
    source: str  # "keyring" or "key-file"


def _keyring():  # noqa: ANN202 - the keyring module
    """The keyring package, imported on first use: a till whose key is in its key file
    starts without it (its backends and their imports were ~25 ms of every start)."""
    import keyring
    import keyring.errors  # noqa: F401 - keyring.errors.*, used by the callers

    return keyring


def _keyring_usable() -> bool:
    backend = _keyring().get_keyring()
    name = type(backend).__module__ + "." + type(backend).__name__
    if "fail" in name.split(".") or "Plaintext" in name or "null" in name.lower():
        return False
    return getattr(backend, "priority", 1) > 0


def _scrypt(passphrase: str, salt: bytes) -> bytes:
    return Scrypt(salt=salt, length=32, n=2**15, r=8, p=1).derive(passphrase.encode())


def seal_file(path: Path, secret: bytes, passphrase: str, *, aad: bytes, field: str) -> None:
    """Write ``secret`` AES-GCM-sealed under a scrypt key from ``passphrase``, mode 0600,
    atomically. Shared by the data key and the terminal credential (sync/credentials.py)."""
    salt, nonce = os.urandom(16), os.urandom(12)
    sealed = AESGCM(_scrypt(passphrase, salt)).encrypt(nonce, secret, aad)
    doc = {"v": 1, "kdf": "scrypt", "salt": salt.hex(), "nonce": nonce.hex(), field: sealed.hex()}
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)  # made 0600 from its first byte, whatever the umask
    with os.fdopen(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_FILE), "w") as fh:
        fh.write(json.dumps(doc))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def open_file(path: Path, passphrase: str, *, aad: bytes, field: str) -> bytes:
    """The secret of a file made by :func:`seal_file`; InvalidTag for a wrong passphrase,
    DamagedKeyFile for a file that is not one :func:`seal_file` wrote (cut short, emptied,
    overwritten)."""
    tighten(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        salt, nonce, sealed = (bytes.fromhex(doc[k]) for k in ("salt", "nonce", field))
        return AESGCM(_scrypt(passphrase, salt)).decrypt(nonce, sealed, aad)
    except (ValueError, KeyError, TypeError) as exc:  # bad JSON or UTF-8, missing or bad fields
        raise DamagedKeyFile(
            f"{path} is damaged ({type(exc).__name__}): it is not a key file Tillsync wrote. "
            "Restore it from the backup; Tillsync will not make a new key over existing data. "
            'See "When the database is damaged" in docs/terminal-setup.md.') from exc


def write_key_file(path: Path, key: bytes, passphrase: str) -> None:
    seal_file(path, key, passphrase, aad=b"tillsync-data-key", field="key")


def read_key_file(path: Path, passphrase: str) -> bytes:
    try:
        return open_file(path, passphrase, aad=b"tillsync-data-key", field="key")
    except InvalidTag as exc:
        raise KeyUnavailable(f"The key passphrase does not open {path} (a wrong passphrase, "
                             "or the file was damaged: then restore it from the backup)") from exc


def key_check(key: bytes) -> str:
    """A fingerprint of the data key, kept in the store to recognise the right key.

    It reveals nothing about the key (HMAC of a fixed label under the key).
    """
    return hmac.new(key, b"tillsync/data-key-check", hashlib.sha256).hexdigest()


def load_or_create(
    data_dir: Path, install_id: str, passphrase: str | None = None, *, create: bool = True
) -> LoadedKey:
    """The data key of this installation, created on first use.

    ``create=False`` (a store that already has encrypted data) refuses to mint a new
    key when none is found: a fresh key would silently orphan the customer data.
    """
    passphrase = passphrase or os.environ.get(PASSPHRASE_ENV)
    key_file = data_dir / KEY_FILE
    if key_file.exists():
        if not passphrase:
            raise KeyUnavailable(
                f"{key_file} holds the data key; set {PASSPHRASE_ENV} to the admin's passphrase"
            )
        return LoadedKey(read_key_file(key_file, passphrase), "key-file")
    account = f"data-key/{install_id}"
    if _keyring_usable():
        try:
            stored = _keyring().get_password(SERVICE, account)
            if stored:
                return LoadedKey(base64.b64decode(stored), "keyring")
            if not create:
                raise KeyUnavailable(_missing(key_file, "the OS keyring"))
            key = os.urandom(KEY_BYTES)
            _keyring().set_password(SERVICE, account, base64.b64encode(key).decode())
            return LoadedKey(key, "keyring")
        except _keyring().errors.KeyringError:
            pass
    if not passphrase:
        raise KeyUnavailable(
            "No OS keyring is available to hold the customer-data key. On a headless "
            f"terminal set {PASSPHRASE_ENV} (or pass --key-passphrase-file) so the key "
            f"is kept encrypted in {key_file}. See docs/terminal-setup.md."
        )
    if not create:
        raise KeyUnavailable(_missing(key_file, "the OS keyring or " + str(key_file)))
    key = os.urandom(KEY_BYTES)
    write_key_file(key_file, key, passphrase)
    return LoadedKey(key, "key-file")


def _missing(key_file: Path, where: str) -> str:
    return (
        f"This store's customer-data key is not in {where}, but the store holds data "
        "encrypted with it. Restore the keyring entry or data-key.enc from a backup; "
        "Tillsync will not make a new key over existing data."
    )


# ---------------------------------------------------------------- rotation's key slots

#: where a rotation keeps the new key until it is finished, and the keys it retired
#: (app/store/key_rotation.py): beside the key, in the same place (keyring or file)
NEXT, RETIRED = "next", "retired"


def _slot_file(data_dir: Path, slot: str) -> Path:
    return data_dir / KEY_FILE if not slot else data_dir / f"data-key.{slot}.enc"


def _in_file(data_dir: Path) -> bool:
    return (data_dir / KEY_FILE).exists()


def read_slot(data_dir: Path, install_id: str, slot: str,
              passphrase: str | None = None) -> list[bytes]:
    """The keys kept in ``slot`` (NEXT: none or one; RETIRED: any number)."""
    passphrase = passphrase or os.environ.get(PASSPHRASE_ENV)
    if _in_file(data_dir):
        path = _slot_file(data_dir, slot)
        if not path.exists():
            return []
        if not passphrase:
            raise KeyUnavailable(f"{path} holds a data key; set {PASSPHRASE_ENV}")
        raw = read_key_file(path, passphrase)
        return [raw[i:i + KEY_BYTES] for i in range(0, len(raw), KEY_BYTES)]
    try:
        stored = _keyring().get_password(SERVICE, f"data-key/{install_id}/{slot}")
    except _keyring().errors.KeyringError:  # no keyring: nothing kept there
        return []
    return [base64.b64decode(part) for part in (stored or "").split()]


def write_slot(data_dir: Path, install_id: str, slot: str, found: list[bytes],
               passphrase: str | None = None) -> None:
    """Keep ``found`` in ``slot`` (empty: remove the slot); the main key with slot ''."""
    passphrase = passphrase or os.environ.get(PASSPHRASE_ENV)
    if _in_file(data_dir):
        path = _slot_file(data_dir, slot)
        if not found:
            path.unlink(missing_ok=True)
            return
        if not passphrase:
            raise KeyUnavailable(f"set {PASSPHRASE_ENV} to write {path}")
        write_key_file(path, b"".join(found), passphrase)
        return
    account = f"data-key/{install_id}" + (f"/{slot}" if slot else "")
    if not found:
        with contextlib.suppress(_keyring().errors.PasswordDeleteError):
            _keyring().delete_password(SERVICE, account)
        return
    _keyring().set_password(SERVICE, account, " ".join(base64.b64encode(k).decode()
                                                    for k in found))
