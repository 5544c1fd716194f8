"""Typed server settings, read from the environment (TILLSYNC_*) or given directly."""

from __future__ import annotations

import json
import os
from typing import Any

from pydantic import BaseModel, Field

ENV_PREFIX = "TILLSYNC_"


class Settings(BaseModel):
    """Everything the server needs to run; tests build one per server instance."""

    database_url: str = "sqlite:///./tillsync-server.db"
    run_migrations: bool = Field(default=True, description="Apply Alembic migrations at start")
    jwt_secret: str = "dev-insecure-change-me"
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
    webhook_secret: str = ""
    webhook_worker_enabled: bool = True
    webhook_poll_interval_s: float = 1.0
    webhook_backoff_base_s: float = 2.0
    webhook_backoff_max_s: float = 3600.0
    webhook_max_attempts: int = 12
    webhook_timeout_s: float = 10.0
    pull_default_limit: int = 200
    pull_max_limit: int = 1000
    snapshot_default_limit: int = Field(
        default=1000, description="Changes per GET /sync/snapshot page when no limit is given")
    snapshot_max_limit: int = Field(
        default=5000, description="The most changes one GET /sync/snapshot page may hold")
    snapshot_unpaged_whole: bool = Field(
        default=True, description="A GET /sync/snapshot with neither page_token nor limit (a "
        "client from before paging) gets the whole state in one answer; False: the first page")
    log_level: str = "INFO"
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
