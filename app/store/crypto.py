"""Encryption of customer personal data at rest, and the blind index for phone look-up.

One 32-byte data key per terminal. Two sub-keys are derived from it with HKDF: one
for AES-GCM encryption of name/phone/email, one for the HMAC blind index that lets
the terminal find a customer by exact phone number without storing it in clear.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NONCE_BYTES = 12
KEY_BYTES = 32


def _derive(key: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=purpose).derive(key)


def normalize_phone(phone: str) -> str:
    """Digits only, leading + kept: '+353 (0)86 123-4567' and '+353086 1234567' match."""
    phone = phone.strip()
    plus = phone.startswith("+")
    digits = re.sub(r"\D", "", phone)
    return ("+" if plus else "") + digits


class PersonalDataCipher:
    """Encrypts and decrypts personal fields; computes the phone blind index."""

    def __init__(self, data_key: bytes, retired: list[bytes] | None = None) -> None:
        """``retired``: keys of earlier rotations (app/store/key_rotation.py), which only
        open: what was sealed before a rotation and is never re-sealed (the journal's
        entries, answered outbox operations, old backups) stays readable."""
        if len(data_key) != KEY_BYTES:
            raise ValueError("data key must be 32 bytes")
        self._aead = AESGCM(_derive(data_key, b"tillsync/pii/aes-gcm"))
        self._index_key = _derive(data_key, b"tillsync/pii/blind-index")
        self._retired = [PersonalDataCipher(k) for k in retired or [] if k != data_key]

    def encrypt(self, plaintext: str | None, *, field: str) -> bytes | None:
        if plaintext is None or plaintext == "":
            return None
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext.encode(), field.encode())

    def decrypt(self, blob: bytes | None, *, field: str) -> str | None:
        if blob is None:
            return None
        return self.open_bytes(blob, field=field).decode()

    def seal_bytes(self, data: bytes, *, field: str) -> bytes:
        """Bytes sealed with the data key (a backup of the store, app/store/backup.py)."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, data, field.encode())

    def open_bytes(self, blob: bytes, *, field: str) -> bytes:
        """The bytes :meth:`seal_bytes` sealed; InvalidTag with another key or field."""
        try:
            return self._aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], field.encode())
        except InvalidTag:
            for old in self._retired:
                try:
                    return old.open_bytes(blob, field=field)
                except InvalidTag:
                    continue
            raise

    def phone_index(self, phone: str | None) -> str | None:
        if not phone:
            return None
        return hmac.new(self._index_key, normalize_phone(phone).encode(), hashlib.sha256).hexdigest()
