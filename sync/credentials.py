"""The terminal credential (the bearer token the server handed out at enrollment).

Why not the database: whoever copies the SQLite file off a till should not be able
to push sales as that till. The token therefore lives where the data key lives
(app/store/keys.py): the OS keyring (service ``tillsync``, account
``terminal/<device_id>``). A headless Linux till has no keyring; then, and only when
the admin has set a passphrase (``TILLSYNC_KEY_PASSPHRASE`` or
``--key-passphrase-file``), the credential is kept in ``terminal-credential.enc``
in the data directory, AES-GCM encrypted under a scrypt key derived from that
passphrase. With neither we refuse, with a message saying what to do; we never
write the token in plaintext.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import keyring
import keyring.errors
from cryptography.exceptions import InvalidTag

from app.store import keys

SERVICE = keys.SERVICE
CREDENTIAL_FILE = "terminal-credential.enc"
_AAD = b"tillsync-terminal-credential"


class CredentialUnavailable(RuntimeError):
    """No safe place to keep (or read) the credential; the message says what to do."""


@dataclass(frozen=True)
class TerminalCredential:
    device_id: str
    token: str
    server_url: str

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> TerminalCredential:
        doc = json.loads(text)
        return cls(device_id=doc["device_id"], token=doc["token"], server_url=doc["server_url"])


def account(device_id: str) -> str:
    return f"terminal/{device_id}"


def _passphrase(passphrase: str | None) -> str | None:
    return passphrase or os.environ.get(keys.PASSPHRASE_ENV) or None


def _write_file(path: Path, secret: str, passphrase: str) -> None:
    keys.seal_file(path, secret.encode(), passphrase, aad=_AAD, field="data")


def _read_file(path: Path, passphrase: str) -> str:
    try:
        return keys.open_file(path, passphrase, aad=_AAD, field="data").decode()
    except InvalidTag as exc:
        raise CredentialUnavailable(f"The key passphrase does not open {path}") from exc


def save(data_dir: Path, cred: TerminalCredential, passphrase: str | None = None) -> str:
    """Keep ``cred``; returns where it went ("keyring" or "key-file")."""
    key_file = Path(data_dir) / CREDENTIAL_FILE
    phrase = _passphrase(passphrase)
    # A till already on the file fallback (its data key is in data-key.enc) stays on it.
    on_file = key_file.exists() or (Path(data_dir) / keys.KEY_FILE).exists()
    if not on_file and keys._keyring_usable():
        try:
            keyring.set_password(SERVICE, account(cred.device_id), cred.to_json())
            return "keyring"
        except keyring.errors.KeyringError:
            pass
    if not phrase:
        raise CredentialUnavailable(
            "No OS keyring is available to hold the terminal credential. On a headless "
            f"terminal set {keys.PASSPHRASE_ENV} (or pass --key-passphrase-file) so it is "
            f"kept encrypted in {key_file}. See docs/terminal-setup.md."
        )
    _write_file(key_file, cred.to_json(), phrase)
    return "key-file"


def load(data_dir: Path, device_id: str, passphrase: str | None = None) -> TerminalCredential | None:
    """The stored credential, or None when this terminal was never enrolled."""
    key_file = Path(data_dir) / CREDENTIAL_FILE
    if key_file.exists():
        phrase = _passphrase(passphrase)
        if not phrase:
            raise CredentialUnavailable(
                f"{key_file} holds the terminal credential; set {keys.PASSPHRASE_ENV}"
            )
        return TerminalCredential.from_json(_read_file(key_file, phrase))
    if keys._keyring_usable():
        try:
            stored = keyring.get_password(SERVICE, account(device_id))
        except keyring.errors.KeyringError:
            stored = None
        if stored:
            return TerminalCredential.from_json(stored)
    return None


def delete(data_dir: Path, device_id: str) -> None:
    """Forget the credential (un-enrolling, or replacing it on re-enrollment)."""
    key_file = Path(data_dir) / CREDENTIAL_FILE
    if key_file.exists():
        key_file.unlink()
    if keys._keyring_usable():
        with contextlib.suppress(keyring.errors.KeyringError):
            keyring.delete_password(SERVICE, account(device_id))
