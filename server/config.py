"""Typed server settings, read from the environment (TILLSYNC_*) or given directly."""

from __future__ import annotations

import json
import logging
import os
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.domain.hosts import is_loopback

ENV_PREFIX = "TILLSYNC_"

#: The JWT secret a fresh checkout would use: public, so only for a dev server on loopback.
DEV_JWT_SECRET = "dev-insecure-change-me"
#: The shortest JWT signing secret accepted in production mode (bytes, as HMAC-SHA256 wants).
MIN_SECRET_BYTES = 32
MAKE_SECRET = "python -c 'import secrets; print(secrets.token_urlsafe(48))'"

log = logging.getLogger("tillsync.server")


class InsecureSettingsError(ValueError):
    """Production mode with a default, short or missing secret; the message names the
    variable and says how to make one."""


class Settings(BaseModel):
    """Everything the server needs to run; tests build one per server instance."""

    database_url: str = "sqlite:///./tillsync-server.db"
    run_migrations: bool = Field(default=True, description="Apply Alembic migrations at start")
    jwt_secret: str = Field(
        default=DEV_JWT_SECRET, description="signs access and refresh tokens "
        "(TILLSYNC_JWT_SECRET); production mode needs at least 32 bytes of your own")
    jwt_algorithm: str = "HS256"
    access_token_ttl_s: int = 900
    refresh_token_ttl_s: int = 30 * 24 * 3600
    lockout_threshold: int = 5
    lockout_seconds: int = 300
    enrollment_code_ttl_s: int = 24 * 3600
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    rate_limit_enabled: bool = True
    rate_limit_per_second: float = 50.0
    rate_limit_burst: int = 200
    webhook_urls: list[str] = Field(default_factory=list)
    webhook_secret: str = Field(
        default="", description="HMAC key of X-Tillsync-Signature (TILLSYNC_WEBHOOK_SECRET); "
        "deliveries are never sent without one")
    webhook_worker_enabled: bool = True
    webhook_poll_interval_s: float = 1.0
    #: how often the journal of every organization is checked (docs/journal.md); 0: never
    journal_check_interval_s: float = 3600.0
    #: a terminal not heard from for this long is on the attention list (GET /attention)
    attention_silent_after_s: int = Field(default=3600, ge=60)
    webhook_backoff_base_s: float = 2.0
    webhook_backoff_max_s: float = 3600.0
    webhook_max_attempts: int = 12
    #: keys of earlier data-key rotations (base64), which only open what the audit trail
    #: sealed with them (server/ops/data_key.py); TILLSYNC_SERVER_RETIRED_DATA_KEYS
    server_retired_data_keys: list[str] = Field(default_factory=list)
    #: retention (server/ops/retention.py, ``tillsync-server housekeeping``); 0: keep forever.
    #: The audit trail and processed_ops are always kept.
    retain_feed_days: int = Field(default=90, ge=0, description="feed entries older than "
                                  "this are compacted (a till further behind loads a snapshot)")
    retain_webhook_deliveries_days: int = Field(default=30, ge=0, description="delivered or "
                                                "given-up webhook deliveries kept this long")
    webhook_timeout_s: float = 10.0
    pull_default_limit: int = Field(
        default=1000, description="Changes per GET /sync/pull page when no limit is given "
        "(a page is one local transaction on the till: fewer, larger pages pull faster)")
    pull_max_limit: int = Field(
        default=5000, description="The most changes one GET /sync/pull page may hold (a till "
        "far behind the head asks for 5000: sync/pull.py CATCH_UP_PAGE); 1000 before issue 17")
    snapshot_default_limit: int = Field(
        default=1000, description="Changes per GET /sync/snapshot page when no limit is given")
    snapshot_max_limit: int = Field(
        default=5000, description="The most changes one GET /sync/snapshot page may hold")
    snapshot_order_days: int = Field(
        default=30, ge=0, le=36_500, description="A new till's snapshot carries the orders "
        "of this many last days (and older ones with a balance due or a pending approval); "
        "older ones are fetched on demand (GET /sync/orders). 0: every order")
    snapshot_unpaged_whole: bool = Field(
        default=True, description="A GET /sync/snapshot with neither page_token nor limit (a "
        "client from before paging) gets the whole state in one answer; False: the first page")
    log_level: str = "INFO"
    bind_host: str = Field(
        default="127.0.0.1", description="the address the server listens on "
        "(TILLSYNC_BIND_HOST; `tillsync-server serve --host` sets it): any non-loopback "
        "address means production mode")
    production: bool = Field(
        default=False, description="force production mode (TILLSYNC_PRODUCTION=1), e.g. "
        "SQLite behind a reverse proxy on the same machine")
    public_docs: bool | None = Field(
        default=None, description="serve /docs, /redoc and /openapi.json (TILLSYNC_PUBLIC_DOCS)"
        ": unset = only to direct loopback requests of a dev server; true = always; "
        "false = never")
    public_metrics: bool | None = Field(
        default=None, description="serve /metrics without a token (TILLSYNC_PUBLIC_METRICS): "
        "unset = only to direct loopback requests of a dev server; true = always; false = never")
    metrics_token: str | None = Field(
        default=None, description="bearer token /metrics asks for (TILLSYNC_METRICS_TOKEN); "
        "when set, /metrics answers whoever sends it, in every mode")
    approval_proof_policy: Literal["require", "flag"] = Field(
        default="require", description="a privileged op (deletion, refund, approval "
        "decision, conflict resolution, price change) whose approver the server holds an "
        "approval key for, pushed with a missing or wrong proof (TILLSYNC_APPROVAL_PROOF_"
        "POLICY): require = rejected in words; flag = applied and flagged "
        "unverified_approval, for a rollout while tills are upgraded (docs/security.md)")
    server_data_key: str | None = Field(
        default=None, description="base64 of 32 bytes; seals customer personal data "
        "(TILLSYNC_SERVER_DATA_KEY). SQLite default: generated next to the database file.")

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        """Settings from TILLSYNC_<FIELD> variables (lists as JSON or comma-separated)."""
        values: dict[str, Any] = {}
        for name, field in cls.model_fields.items():
            raw = os.environ.get(ENV_PREFIX + name.upper())
            if raw is None:
                continue
            if field.annotation == list[str]:
                raw = raw.strip()
                values[name] = json.loads(raw) if raw.startswith("[") else [
                    part.strip() for part in raw.split(",") if part.strip()
                ]
            else:
                values[name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.model_validate(values)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def production_mode(self) -> bool:
        """PostgreSQL, a non-loopback bind, or TILLSYNC_PRODUCTION: real secrets required."""
        return self.production or not self.is_sqlite or not is_loopback(self.bind_host)

    def insecure_reasons(self) -> list[str]:
        """What is missing or default, one sentence each naming the variable to set."""
        reasons = []
        secret = self.jwt_secret.strip()
        make = f"make one with: {MAKE_SECRET}"
        if not secret or secret == DEV_JWT_SECRET:
            reasons.append(f"TILLSYNC_JWT_SECRET is not set (tokens would be signed with the "
                           f"public default, so anyone could forge an owner's token); {make}")
        elif len(secret.encode()) < MIN_SECRET_BYTES:
            reasons.append(f"TILLSYNC_JWT_SECRET is shorter than {MIN_SECRET_BYTES} bytes; {make}")
        if self.webhook_urls and not self.webhook_secret.strip():
            reasons.append(f"TILLSYNC_WEBHOOK_URLS is set but TILLSYNC_WEBHOOK_SECRET is not "
                           f"(deliveries would carry no real signature); {make} and give "
                           "the same value to the receiver")
        return reasons

    def enforce_secure_defaults(self) -> None:
        """Production mode: raise :class:`InsecureSettingsError` on a default, short or
        missing secret. A dev server (loopback and SQLite) starts, with a loud warning."""
        reasons = self.insecure_reasons()
        if not reasons:
            return
        if self.production_mode:
            why = ("PostgreSQL" if not self.is_sqlite else
                   f"bound to {self.bind_host}" if not is_loopback(self.bind_host) else
                   "TILLSYNC_PRODUCTION is set")
            raise InsecureSettingsError(
                f"refusing to start in production mode ({why}): " + "; ".join(reasons)
                + ". See docs/server-deploy.md, 'Production checklist'.")
        for reason in reasons:
            log.warning("INSECURE DEV SERVER (loopback and SQLite only): %s", reason)
