"""The per-app context (settings, engine, sessions, hasher, metrics) and auth principals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from argon2 import PasswordHasher
from fastapi import Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from server.config import Settings
from server.metrics import Metrics
from server.ratelimit import TokenBucketLimiter


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    writer: sessionmaker[Session]
    reader: sessionmaker[Session]
    hasher: PasswordHasher
    metrics: Metrics
    limiter: TokenBucketLimiter
    extras: dict[str, object] = field(default_factory=dict)
    #: The process's push writer, a ``server.sync.group_commit.GroupCommit``: pushes
    #: queue there and those that queued together commit together.
    write_gate: Any = None


@dataclass(frozen=True)
class StaffPrincipal:
    """A signed-in staff member, with the role they have NOW (read on every request)."""

    staff_id: str
    org_id: str
    role: str
    name: str


@dataclass(frozen=True)
class TerminalPrincipal:
    """An enrolled terminal (``terminal_id`` is None for changes made through the REST API)."""

    terminal_id: str | None
    org_id: str
    store_id: str
    device_code: str


def get_ctx(request: Request) -> AppContext:
    return request.app.state.ctx  # type: ignore[no-any-return]
