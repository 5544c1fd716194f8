"""The terminal credential: OS keyring first, encrypted file with a passphrase, never plaintext."""

from __future__ import annotations

from pathlib import Path

import keyring
import pytest
from keyring.backends.fail import Keyring as FailKeyring

from sync import credentials
from sync.credentials import CredentialUnavailable, TerminalCredential

CRED = TerminalCredential("dev-1", "tt_secret-token-value", "http://127.0.0.1:1")


def test_credential_goes_to_the_keyring(tmp_path: Path, memory_keyring) -> None:
    assert credentials.save(tmp_path, CRED) == "keyring"
    assert ("tillsync", "terminal/dev-1") in memory_keyring.items
    assert not (tmp_path / credentials.CREDENTIAL_FILE).exists()
    assert credentials.load(tmp_path, "dev-1") == CRED
    credentials.delete(tmp_path, "dev-1")
    assert credentials.load(tmp_path, "dev-1") is None


def test_no_keyring_and_no_passphrase_refuses(tmp_path: Path) -> None:
    keyring.set_keyring(FailKeyring())
    with pytest.raises(CredentialUnavailable, match="TILLSYNC_KEY_PASSPHRASE"):
        credentials.save(tmp_path, CRED)
    assert list(tmp_path.iterdir()) == []


def test_no_keyring_uses_encrypted_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keyring.set_keyring(FailKeyring())
    monkeypatch.setenv("TILLSYNC_KEY_PASSPHRASE", "correct horse")
    assert credentials.save(tmp_path, CRED) == "key-file"
    raw = (tmp_path / credentials.CREDENTIAL_FILE).read_bytes()
    assert b"tt_secret-token-value" not in raw  # never plaintext
    assert credentials.load(tmp_path, "dev-1") == CRED
    with pytest.raises(CredentialUnavailable, match="passphrase does not open"):
        credentials.load(tmp_path, "dev-1", passphrase="wrong")
    monkeypatch.delenv("TILLSYNC_KEY_PASSPHRASE")
    with pytest.raises(CredentialUnavailable, match="TILLSYNC_KEY_PASSPHRASE"):
        credentials.load(tmp_path, "dev-1")
