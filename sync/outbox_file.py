"""Sync by file, for long outages: the till's waiting operations in one sealed file.

Why a file: a shop without a network for weeks can still get its sales to the server
(a USB stick, an email). The file carries the operations exactly as a push would, and
the server imports them with a push's rules (dedupe by op_id, op_seq in order), so
importing it twice, or importing it and then pushing, applies each operation once.

Why sealed with a key from the terminal's credential: only this till and the server
(which keeps the credential's SHA-256, never the token) can make or read the file.
AES-GCM authenticates it: a changed byte, or a file made by anyone else, is refused.
The header (device, time, count, op_seq range) is readable and bound into the seal.

File: the line ``TILLSYNC-OUTBOX 1``, then one JSON object:
``{"header": {...}, "sealed": base64(nonce + AES-GCM(operations JSON))}``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"TILLSYNC-OUTBOX 1\n"
NONCE = 12


class OutboxFileError(ValueError):
    """A file that is not an outbox file, or not this terminal's, said in words."""


@dataclass(frozen=True)
class OutboxHeader:
    device_id: str
    made_at: str
    count: int
    first_seq: int | None
    last_seq: int | None


def credential_digest(token: str) -> str:
    """What the server keeps of a terminal token (its SHA-256, hex): the key's root."""
    return hashlib.sha256(token.encode()).hexdigest()


def _key(digest: str) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"tillsync/outbox-file").derive(bytes.fromhex(digest))
    return AESGCM(key)


def _aad(header: OutboxHeader) -> bytes:
    return json.dumps(asdict(header), sort_keys=True).encode()


def seal(device_id: str, digest: str, operations: list[dict[str, Any]],
         now: datetime | None = None) -> bytes:
    """The file's bytes for ``operations`` (wire dicts, op_seq order)."""
    seqs = [int(op["op_seq"]) for op in operations]
    header = OutboxHeader(device_id, (now or datetime.now(UTC)).isoformat(), len(operations),
                          min(seqs) if seqs else None, max(seqs) if seqs else None)
    nonce = os.urandom(NONCE)
    body = json.dumps(operations, separators=(",", ":")).encode()
    sealed = nonce + _key(digest).encrypt(nonce, body, _aad(header))
    doc = {"header": asdict(header), "sealed": base64.b64encode(sealed).decode()}
    return MAGIC + json.dumps(doc).encode()


def read_header(raw: bytes) -> tuple[OutboxHeader, str]:
    """(header, sealed part) of a file's bytes; OutboxFileError if it is not one."""
    if not raw.startswith(MAGIC):
        raise OutboxFileError("This is not a Tillsync outbox file")
    try:
        doc = json.loads(raw[len(MAGIC):])
        return OutboxHeader(**doc["header"]), str(doc["sealed"])
    except (ValueError, TypeError, KeyError) as exc:
        raise OutboxFileError("The outbox file is damaged (its header cannot be read)") from exc


def open_sealed(raw: bytes, digest: str) -> tuple[OutboxHeader, list[dict[str, Any]]]:
    """The header and operations; OutboxFileError if the key does not open it."""
    header, sealed = read_header(raw)
    blob = base64.b64decode(sealed)
    try:
        body = _key(digest).decrypt(blob[:NONCE], blob[NONCE:], _aad(header))
    except InvalidTag as exc:
        raise OutboxFileError("The outbox file was not made by this terminal, or it was "
                              "altered; nothing was imported") from exc
    operations = json.loads(body)
    if not isinstance(operations, list):
        raise OutboxFileError("The outbox file holds no list of operations")
    return header, operations


def write(path: Path, data: bytes) -> None:
    """Write beside the final name and rename, private to the user."""
    tmp = path.with_name(path.name + ".part")
    fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def export_outbox(store: Any, token: str, path: Path) -> OutboxHeader:
    """Write every waiting operation of ``store`` (a LocalStore) to ``path``; they stay
    waiting here, so a later push is answered ``duplicate`` for those imported."""
    from sync.protocol import MAX_BATCH
    from sync.push import load_batch

    operations: list[dict[str, Any]] = []
    after = 0
    while True:
        batch = load_batch(store, MAX_BATCH, after)
        if not batch:
            break
        operations += [op.model_dump(mode="json") for op in batch]
        after = batch[-1].op_seq
    data = seal(store.device_id, credential_digest(token), operations)
    write(path, data)
    return read_header(data)[0]
