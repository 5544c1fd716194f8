"""The keys that sign staff access tokens, each with an id (``kid``), and their rotation.

Why ids: with one secret, changing it signs everyone out at once (every token in
hand stops verifying). With ids, ``tillsync-server rotate-jwt-key`` adds a new key that
signs from then on, while the old one still verifies the tokens it signed until the
last of them expires (access tokens live ``access_token_ttl_s``; refresh tokens are
opaque rows, untouched), so nobody is signed out.

Where: the ``server_meta`` table, one row per key (``jwt_key:<kid>``), its secret
sealed with the server's data key. ``TILLSYNC_JWT_SECRET`` is the first key (its kid is
``env-`` and a fingerprint): it signs until the first rotation, and tokens without a
kid (from before kids) verify with it while it is valid. Every server process reads
the keys again every ``RELOAD_S`` seconds (and at once on an unknown kid), so a key
rotated by the CLI signs everywhere within that time; the old one's validity covers it.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from server import crypto
from server.config import Settings
from server.context import AppContext
from server.db.base import utcnow
from server.db.models import ServerMeta

PREFIX = "jwt_key:"
RELOAD_S = 30.0
_FIELD = "jwt_key"


@dataclass(frozen=True)
class SigningKey:
    kid: str
    secret: str
    created_at: datetime
    verify_until: datetime | None  # None: the key that signs now


def env_kid(secret: str) -> str:
    return "env-" + hashlib.sha256(secret.encode()).hexdigest()[:12]


def _aware(dt: datetime) -> datetime:
    from datetime import UTC

    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _when(value: str | None) -> datetime | None:
    return _aware(datetime.fromisoformat(value)) if value else None


def read_keys(session: Session, settings: Settings) -> list[SigningKey]:
    """Every key of this database, oldest first; the env key first when never rotated."""
    cipher = crypto.cipher_of(session)
    keys: list[SigningKey] = []
    rows = session.scalars(select(ServerMeta).where(ServerMeta.key.like(PREFIX + "%")))
    for row in rows:
        doc = json.loads(row.value)
        secret = settings.jwt_secret if doc.get("env") else (
            cipher.open(_FIELD, doc["secret"]) if cipher is not None else "")
        created = _when(doc["created_at"])
        assert created is not None
        keys.append(SigningKey(row.key[len(PREFIX):], secret, created, _when(doc.get("until"))))
    keys.sort(key=lambda k: k.created_at)
    if not keys:  # never rotated: TILLSYNC_JWT_SECRET signs
        keys.append(SigningKey(env_kid(settings.jwt_secret), settings.jwt_secret,
                               datetime.min.replace(tzinfo=utcnow().tzinfo), None))
    return keys


def _row(kid: str, doc: dict[str, object]) -> ServerMeta:
    return ServerMeta(key=PREFIX + kid, value=json.dumps(doc))


def rotate(session: Session, settings: Settings, *, now: datetime | None = None) -> SigningKey:
    """A new signing key; the one signing until now verifies until its last token expires
    (plus the time every process takes to see the new key). Expired keys are removed."""
    now = now or utcnow()
    cipher = crypto.cipher_of(session)
    if cipher is None:
        raise RuntimeError("the server data key is not set up")
    until = now + timedelta(seconds=settings.access_token_ttl_s + 2 * RELOAD_S)
    keys = read_keys(session, settings)
    for key in keys:
        if key.verify_until is None:
            doc: dict[str, object] = {"created_at": key.created_at.isoformat(),
                                      "until": until.isoformat()}
            if key.kid.startswith("env-"):
                doc["env"] = True
            else:
                doc["secret"] = cipher.seal(_FIELD, key.secret)
            session.merge(_row(key.kid, doc))
        elif key.verify_until < now:
            session.execute(delete(ServerMeta).where(ServerMeta.key == PREFIX + key.kid))
    new = SigningKey("k-" + secrets.token_hex(8), secrets.token_urlsafe(48), now, None)
    session.add(_row(new.kid, {"created_at": now.isoformat(),
                               "secret": cipher.seal(_FIELD, new.secret)}))
    return new


class KeyRing:
    """This process's view of the keys, read again every RELOAD_S seconds."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self._keys: dict[str, SigningKey] = {}
        self._signer: SigningKey | None = None
        self._read_at = -RELOAD_S

    def reload(self) -> None:
        """Read the keys now (a rotation in this process, or a test)."""
        with self.ctx.reader() as session:
            keys = read_keys(session, self.ctx.settings)
        self._keys = {k.kid: k for k in keys}
        current = [k for k in keys if k.verify_until is None]
        self._signer = current[-1] if current else keys[-1]
        self._read_at = time.monotonic()

    def _fresh(self) -> None:
        if time.monotonic() - self._read_at >= RELOAD_S:
            self.reload()

    def signer(self) -> SigningKey:
        self._fresh()
        assert self._signer is not None
        return self._signer

    def secret_for(self, kid: str | None) -> str | None:
        """The secret that verifies a token with header ``kid`` now, or None."""
        self._fresh()
        kid = kid or env_kid(self.ctx.settings.jwt_secret)
        key = self._keys.get(kid)
        if key is None and time.monotonic() - self._read_at > 1.0:
            self.reload()  # rotated by another process meanwhile
            key = self._keys.get(kid)
        if key is None or (key.verify_until is not None and key.verify_until < utcnow()):
            return None
        return key.secret


def ring(ctx: AppContext) -> KeyRing:
    """The process's key ring of ``ctx``."""
    found = ctx.extras.get("jwt_keys")
    if not isinstance(found, KeyRing):
        found = ctx.extras["jwt_keys"] = KeyRing(ctx)
    return found
