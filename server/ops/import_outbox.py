"""Importing a till's outbox file (sync/outbox_file.py) with a push's rules.

Why through the push's own writer (server/sync/group_commit.apply_alone): the same
dedupe by op_id, the same dense op_seq and gap rule, the same permission checks and
quarantine. An operation already applied (pushed, or imported before) is answered
``duplicate``; importing a file twice, or importing it and pushing, applies each op once.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import select

from server.context import AppContext, TerminalPrincipal
from server.db.models import Terminal
from server.errors import ApiError
from server.sync.group_commit import apply_alone
from server.sync.intake import taken_in
from sync.outbox_file import OutboxFileError, OutboxHeader, open_sealed, read_header
from sync.protocol import MAX_BATCH, OperationResult, PushRequest, describe_errors


@dataclass
class Imported:
    header: OutboxHeader
    terminal_name: str
    statuses: Counter[str] = field(default_factory=Counter)
    held_back_from: int | None = None  # a gap: the server misses op_seq N (push the rest)
    results: list[OperationResult] = field(default_factory=list)


def _terminal(ctx: AppContext, device_id: str, org_id: str | None) -> Terminal:
    with ctx.reader() as s:
        term = s.scalars(select(Terminal).where(Terminal.id == device_id)).first()
        if term is None or (org_id is not None and term.org_id != org_id):
            raise ApiError(404, "not_found", "No terminal of this organization made this file")
        if term.revoked:
            raise ApiError(409, "revoked", "The terminal that made this file was revoked; "
                           "its operations are not taken")
        s.expunge(term)
        return term


def _seq(op: Any) -> int:
    value = op.get("op_seq") if isinstance(op, dict) else None
    return value if isinstance(value, int) else 0


class ImportOutboxOut(BaseModel):
    """``POST /sync/import-outbox``: what became of a till's outbox file."""

    device_id: str
    terminal: str
    operations: int = Field(description="Operations in the file")
    applied: int
    duplicate: int = Field(description="Applied before (pushed, or imported already)")
    conflict: int
    rejected: int
    held_back_from: int | None = Field(
        default=None, description="The server misses this op_seq of the till: the ops from "
        "it on were not applied (the till pushes them, or export a file from it)")

    @classmethod
    def of(cls, done: Imported) -> ImportOutboxOut:
        c = done.statuses
        return cls(device_id=done.header.device_id, terminal=done.terminal_name,
                   operations=done.header.count, applied=c["applied"],
                   duplicate=c["duplicate"], conflict=c["conflict"], rejected=c["rejected"],
                   held_back_from=done.held_back_from)


def import_outbox(ctx: AppContext, raw: bytes, org_id: str | None = None) -> Imported:
    """Apply a file's operations as a push of its terminal would be (``org_id``: only a
    terminal of that organization; None from the server's own CLI)."""
    try:
        header, _ = read_header(raw)
        term = _terminal(ctx, header.device_id, org_id)
        header, operations = open_sealed(raw, term.token_hash)
    except OutboxFileError as exc:
        raise ApiError(422, "invalid_file", str(exc)) from exc
    principal = TerminalPrincipal(term.id, term.org_id, term.store_id, term.device_code)
    done = Imported(header, term.name)
    operations.sort(key=_seq)
    for start in range(0, len(operations), MAX_BATCH):
        chunk = operations[start:start + MAX_BATCH]
        try:
            ops = taken_in(PushRequest.model_validate({"operations": chunk}).operations)
        except ValidationError as exc:
            raise ApiError(422, "invalid_file", "The file's operations are not a push's "
                           f"({describe_errors(exc)}); nothing more was imported") from exc
        results, gap, last = apply_alone(ctx, principal, ops)
        done.results += results
        done.statuses.update(r.status.value for r in results)
        if gap:
            done.held_back_from = last + 1
            break
    return done
