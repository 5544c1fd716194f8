"""The server's data key: AES-GCM sealing of customer personal data and a phone blind index.

The key is 32 random bytes, given base64-encoded in ``TILLSYNC_SERVER_DATA_KEY``.
For the default SQLite database it is generated on first start into
``tillsync-server-data.key`` next to the database file (mode 0600); PostgreSQL
deployments must set it. The database remembers the key's fingerprint
(``server_meta``), so starting with another key fails instead of mixing keys.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import re
import threading
import time
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Engine, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DontWrapMixin
from sqlalchemy.orm import Session

from server.config import Settings
from server.db.base import SEALED_PREFIX
from server.errors import ApiError

log = logging.getLogger("tillsync.server")
KEY_FILE_NAME = "tillsync-server-data.key"
FINGERPRINT_KEY = "data_key_fingerprint"
#: server_meta row of an unfinished key rotation (server/ops/data_key.py)
ROTATION_KEY = "data_key_rotation"


class DataKeyError(RuntimeError):
    """The data key is missing, malformed or not the key this database was written with."""


class DataCipher:
    def __init__(self, key: bytes, retired: list[bytes] | None = None) -> None:
        """``retired``: keys of earlier rotations, which only open (the audit trail is
        append-only: its entries keep the seal of their time; server/ops/data_key.py)."""
        self._retired = [DataCipher(k) for k in retired or []]
        self._raw, self._retired_raw = key, list(retired or [])  # kept across a rotation
        if len(key) != 32:
            raise DataKeyError("the server data key must be 32 bytes (base64 in "
                               "TILLSYNC_SERVER_DATA_KEY)")
        self._aead = AESGCM(hmac.new(key, b"tillsync/aead/v1", hashlib.sha256).digest())
        self._index_key = hmac.new(key, b"tillsync/blind-index/v1", hashlib.sha256).digest()
        self.fingerprint = hmac.new(key, b"tillsync/fingerprint/v1", hashlib.sha256).hexdigest()[:32]
        self._online_approval = hmac.new(key, b"tillsync/approval-online/v1", hashlib.sha256).digest()

    def seal(self, field: str, value: str) -> str:
        nonce = os.urandom(12)
        blob = nonce + self._aead.encrypt(nonce, value.encode(), field.encode())
        return SEALED_PREFIX + base64.urlsafe_b64encode(blob).decode()

    def open(self, field: str, token: str) -> str:
        blob = base64.urlsafe_b64decode(token[len(SEALED_PREFIX):])
        try:
            return self._aead.decrypt(blob[:12], blob[12:], field.encode()).decode()
        except InvalidTag:
            for old in self._retired:
                try:
                    return old.open(field, token)
                except InvalidTag:
                    continue
            raise

    def online_approval_secret(self, staff_id: str, epoch: int) -> bytes:
        """The secret a staff member's server-issued approval proofs are made with: never
        stored nor sent; a new ``epoch`` (a new PIN, a deactivation) ends the old ones."""
        return hmac.new(self._online_approval, f"{staff_id}/{epoch}".encode(),
                        hashlib.sha256).digest()

    def phone_index(self, phone: str | None) -> str | None:
        """A keyed hash of the phone number's digits (a leading + kept) for exact look-up."""
        if not phone:
            return None
        digits = re.sub(r"[^0-9]", "", phone)
        if not digits:
            return None
        normalized = ("+" if phone.strip().startswith("+") else "") + digits
        return hmac.new(self._index_key, normalized.encode(), hashlib.sha256).hexdigest()


def _decode(raw: str) -> bytes:
    try:
        key = base64.b64decode(raw.strip(), validate=True)
    except ValueError as exc:
        raise DataKeyError("TILLSYNC_SERVER_DATA_KEY is not valid base64") from exc
    if len(key) != 32:
        raise DataKeyError("TILLSYNC_SERVER_DATA_KEY must decode to 32 bytes")
    return key


def new_key_b64() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def key_file_for(database_url: str) -> Path | None:
    """Where the SQLite default keeps its generated key (None for in-memory/other DBs)."""
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite") or not url.database or url.database == ":memory:":
        return None
    return Path(url.database).resolve().parent / KEY_FILE_NAME


def load_key(settings: Settings) -> bytes:
    """The configured key; for SQLite, the key file (generated on first start)."""
    if settings.server_data_key:
        return _decode(settings.server_data_key)
    if not settings.is_sqlite:
        raise DataKeyError(
            "TILLSYNC_SERVER_DATA_KEY is required with PostgreSQL: 32 random bytes, base64 "
            "(python -c 'import base64,os;print(base64.b64encode(os.urandom(32)).decode())')"
        )
    path = key_file_for(settings.database_url)
    if path is None:
        return os.urandom(32)  # in-memory database: the data dies with the process anyway
    if path.exists():
        return _decode(path.read_text())
    if not path.parent.is_dir():
        # no database directory: nothing can be stored (the server reports not ready)
        log.warning("database directory %s does not exist; no data key written", path.parent)
        return os.urandom(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(new_key_b64() + "\n")
    return _decode(path.read_text())


def attach(engine: Engine, cipher: DataCipher) -> None:
    """Make ``engine`` seal and open personal data with ``cipher``."""
    engine.dialect.tillsync_cipher = cipher  # type: ignore[attr-defined]


def cipher_of(session_or_engine: Session | Engine) -> DataCipher | None:
    bind = session_or_engine.get_bind() if isinstance(session_or_engine, Session) \
        else session_or_engine
    return getattr(bind.dialect, "tillsync_cipher", None)


def check_fingerprint(engine: Engine, cipher: DataCipher) -> None:
    """Remember the key's fingerprint; refuse a different key for the same database."""
    from server.db.models import ServerMeta

    try:
        with Session(engine) as session, session.begin():
            row = session.scalars(
                select(ServerMeta).where(ServerMeta.key == FINGERPRINT_KEY)).first()
            if session.get(ServerMeta, ROTATION_KEY) is not None:
                raise DataKeyError(
                    "a data-key rotation is unfinished: some data is sealed with the new "
                    "key, some with the old; run tillsync-server rotate-data-key again with "
                    "the same keys before starting the server")
            if row is None:
                session.add(ServerMeta(key=FINGERPRINT_KEY, value=cipher.fingerprint))
                return
            stored = row.value
    except DBAPIError as exc:  # database not reachable yet: /health/ready reports it
        log.warning("could not check the data key fingerprint: %s", exc)
        return
    if stored != cipher.fingerprint:
        raise DataKeyError(
            "this database was written with another data key: set the original "
            "TILLSYNC_SERVER_DATA_KEY (or restore the key file) instead of a new one"
        )


def retired_keys(settings: Settings) -> list[bytes]:
    """Keys of earlier rotations: TILLSYNC_SERVER_RETIRED_DATA_KEYS, and for the SQLite
    default the ``.retired`` file beside the key file (one base64 key a line)."""
    keys = [_decode(k) for k in settings.server_retired_data_keys]
    path = key_file_for(settings.database_url)
    retired = path.with_name(path.name + ".retired") if path is not None else None
    if retired is not None and retired.exists():
        keys += [_decode(line) for line in retired.read_text().split() if line.strip()]
    return keys


def setup(engine: Engine, settings: Settings) -> DataCipher:
    cipher = DataCipher(load_key(settings), retired_keys(settings))
    attach(engine, cipher)
    return cipher


# ------------------------------------------------------ a rotation made while it runs

#: how often a running server reads the database's key generation (the fingerprint
#: and the rotation record in server_meta): at the start of a transaction, at most
#: once in this many seconds. A rotation waits FOLLOW_S after announcing itself before
#: it re-seals anything, so every running server has switched by then.
CHECK_S = 0.5
FOLLOW_S = 4 * CHECK_S
NEXT_SUFFIX = ".next"  # the SQLite default's key file's companion during a rotation


class StaleDataKey(ApiError, DontWrapMixin):
    """The data key was rotated and this server does not have the new key: nothing is
    written (a push is refused whole, 503: never an op rejected for it, see
    server/sync/dispatch.py) and the request may be resent after a restart."""

    def __init__(self, reason: str) -> None:
        super().__init__(503, "unavailable", reason, {"retry_after_s": 60},
                         {"Retry-After": "60"})


class StaleCipher:
    """What a server holds once its key is no longer the database's and it cannot find
    the new one (a key given in TILLSYNC_SERVER_DATA_KEY: a running process cannot
    read a new value): it opens what it can but seals and indexes nothing, so no row is
    written under a key the database has left; restart it with the new key."""

    def __init__(self, held: DataCipher, reason: str) -> None:
        self.held, self.reason = held, reason
        self.fingerprint = held.fingerprint

    def _refuse(self) -> StaleDataKey:
        return StaleDataKey(self.reason)

    def seal(self, field: str, value: str) -> str:
        raise self._refuse()

    def open(self, field: str, token: str) -> str:
        return self.held.open(field, token)

    def phone_index(self, phone: str | None) -> str | None:
        if not phone:
            return None
        raise self._refuse()

    def online_approval_secret(self, staff_id: str, epoch: int) -> bytes:
        raise self._refuse()


def key_generation(connection: Any) -> tuple[str | None, dict[str, Any] | None]:
    """The database's key fingerprint and its unfinished rotation's record (or None)."""
    import json

    rows = dict(connection.exec_driver_sql(
        "SELECT key, value FROM server_meta WHERE key IN "
        f"('{FINGERPRINT_KEY}', '{ROTATION_KEY}')").all())
    record = rows.get(ROTATION_KEY)
    return rows.get(FINGERPRINT_KEY), (json.loads(record) if record else None)


class KeyFollower:
    """Keeps a running server's data key the database's own across a rotation
    (``tillsync-server rotate-data-key`` run while it serves).

    At the start of a session's transaction, at most every CHECK_S seconds, one small
    read of ``server_meta`` on that transaction's connection says which key the data is
    (being) sealed with. When that is not the key held, the new one is looked for where
    the rotation leaves it (the SQLite default's key file, or its ``.next`` companion
    during the rotation) and, found, seals and indexes from then on, the old key kept to
    open what it sealed; not found, :class:`StaleCipher` refuses to seal."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine, self.settings = engine, settings
        self._checked_at = -CHECK_S
        self._lock = threading.Lock()

    def attach_to(self, *factories: Any) -> None:
        for factory in factories:
            event.listen(factory, "after_begin", self._after_begin)

    def _after_begin(self, _session: Session, _transaction: Any, connection: Any) -> None:
        if time.monotonic() - self._checked_at < CHECK_S:
            return
        with self._lock:
            if time.monotonic() - self._checked_at < CHECK_S:
                return
            try:
                self.check(connection)
            except DBAPIError:  # server_meta not there (yet): nothing to follow
                return
            self._checked_at = time.monotonic()

    def check(self, connection: Any) -> None:
        held = getattr(self.engine.dialect, "tillsync_cipher", None)
        if held is None:
            return
        fingerprint, record = key_generation(connection)
        wanted = record["to"] if record is not None else fingerprint
        if wanted is None or wanted == held.fingerprint:
            return
        base = held.held if isinstance(held, StaleCipher) else held
        for key in self._candidates():
            found = DataCipher(key)
            if found.fingerprint == wanted:
                attach(self.engine, DataCipher(key, [k for k in (base._raw, *base._retired_raw)
                                                     if k != key]))
                log.warning("the data key was rotated: sealing with the new key %s",
                            wanted[:8])
                return
        if not isinstance(held, StaleCipher):
            log.error("the data key was rotated and this server does not have the new key: "
                      "it seals no customer data until restarted with it")
            attach(self.engine, StaleCipher(  # type: ignore[arg-type]
                base, "The server's data key was rotated and this server does not have "
                "the new key: restart it with the new key (TILLSYNC_SERVER_DATA_KEY) and the "
                "old one in TILLSYNC_SERVER_RETIRED_DATA_KEYS, then resend the same request"))

    def _candidates(self) -> list[bytes]:
        if self.settings.server_data_key:
            return []
        path = key_file_for(self.settings.database_url)
        if path is None:
            return []
        found = []
        for candidate in (path.with_name(path.name + NEXT_SUFFIX), path):
            try:
                found.append(_decode(candidate.read_text()))
            except (OSError, DataKeyError):
                continue
        return found


def _index_order(_mapper: object, connection: object, target: object) -> None:
    cipher = getattr(connection.dialect, "tillsync_cipher", None)  # type: ignore[attr-defined]
    customer = getattr(target, "customer", None)
    phone = customer.get("phone") if isinstance(customer, dict) else None
    target.customer_phone_index = cipher.phone_index(phone) if cipher else None  # type: ignore[attr-defined]


def _index_customer(_mapper: object, connection: object, target: object) -> None:
    cipher = getattr(connection.dialect, "tillsync_cipher", None)  # type: ignore[attr-defined]
    data = getattr(target, "data", None) or {}
    target.phone_index = cipher.phone_index(data.get("phone")) if cipher else None  # type: ignore[attr-defined]


def _install_listeners() -> None:
    from server.db.models import Customer, Order

    for name in ("before_insert", "before_update"):
        event.listen(Order, name, _index_order)
        event.listen(Customer, name, _index_customer)


_install_listeners()
