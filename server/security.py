"""Password/PIN hashing (argon2), opaque token hashing and JWT access tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from server.config import Settings


def make_hasher(settings: Settings) -> PasswordHasher:
    return PasswordHasher(
        time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_kib
    )


def verify_secret(hasher: PasswordHasher, stored: str | None, given: str) -> bool:
    """True when ``given`` matches the argon2 hash ``stored``; never raises."""
    if not stored:
        return False
    try:
        return hasher.verify(stored, given)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def random_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def constant_eq(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


class SigningKeys(Protocol):
    """The signing keys with ids (server/auth/jwt_keys.py ``KeyRing``)."""

    def signer(self) -> Any: ...

    def secret_for(self, kid: str | None) -> str | None: ...


def encode_access_token(
    settings: Settings, *, staff_id: str, org_id: str, role: str, epoch: int,
    keys: SigningKeys | None = None,
) -> tuple[str, int]:
    """A short-lived HS256 JWT for a staff member; returns (token, ttl seconds)."""
    now = datetime.now(UTC)
    claims = {
        "sub": staff_id,
        "org": org_id,
        "role": role,
        "ep": epoch,
        "typ": "access",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=settings.access_token_ttl_s)).timestamp()),
        "jti": secrets.token_hex(8),
    }
    if keys is None:
        token = jwt.encode(claims, settings.jwt_secret, algorithm=settings.jwt_algorithm)
    else:  # the key that signs now, named by its kid (server/auth/jwt_keys.py)
        key = keys.signer()
        token = jwt.encode(claims, key.secret, algorithm=settings.jwt_algorithm,
                           headers={"kid": key.kid})
    return token, settings.access_token_ttl_s


def decode_access_token(settings: Settings, token: str,
                        keys: SigningKeys | None = None) -> dict[str, Any] | None:
    """The claims of a staff access token signed by one of ``keys`` (else with the
    configured secret), unexpired; None for any other token."""
    return verify_access_token(settings, token, keys)[0]


def verify_access_token(settings: Settings, token: str, keys: SigningKeys | None = None
                        ) -> tuple[dict[str, Any] | None, str | None, str | None]:
    """:func:`decode_access_token`, with the kid of the token's header and the secret
    that verified it (both None when it did not verify)."""
    try:
        kid: str | None = None
        secret: str | None = settings.jwt_secret
        if keys is not None:
            kid = jwt.get_unverified_header(token).get("kid")
            secret = keys.secret_for(kid)
        if secret is None:
            return None, None, None  # a key that no longer verifies, or none of ours
        claims = jwt.decode(token, secret, algorithms=[settings.jwt_algorithm])
    except jwt.PyJWTError:
        return None, None, None
    if claims.get("typ") != "access":
        return None, None, None
    return claims, kid, secret


def sign_body(secret: str, body: bytes) -> str:
    """The webhook signature header value: ``sha256=<hex HMAC of the raw body>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
