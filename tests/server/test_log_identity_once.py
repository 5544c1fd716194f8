"""The access line's ids: a request's credential is read once per request, not once per
log record (server/logging_setup.py); a credential that proves nothing yet (a terminal
not verified by the route so far) is asked again at the next record."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from server import logging_setup
from server.auth import deps


def _records(n: int) -> list[logging.LogRecord]:
    return [logging.LogRecord("tillsync.server.access", logging.INFO, __file__, 1, "x", None, None)
            for _ in range(n)]


def _run(monkeypatch: pytest.MonkeyPatch, answers: list[dict[str, str]]) -> tuple[int, list[Any]]:
    calls = 0

    def counted(ctx: Any, auth: str, state: Any = None) -> dict[str, str]:
        nonlocal calls
        calls += 1
        return answers[min(calls, len(answers)) - 1]

    monkeypatch.setattr(logging_setup, "credential_ids", counted)
    token = logging_setup._credential.set(logging_setup._Credential(object(), "Bearer t"))  # type: ignore[arg-type]
    try:
        seen = []
        for record in _records(4):
            logging_setup.IdentityFilter().filter(record)
            seen.append(record.org_id)  # type: ignore[attr-defined]
    finally:
        logging_setup._credential.reset(token)
    return calls, seen


def test_a_proven_credential_is_read_once_per_request(monkeypatch: pytest.MonkeyPatch) -> None:
    calls, seen = _run(monkeypatch, [{"org_id": "org-1"}])
    assert calls == 1 and seen == ["org-1"] * 4


def test_a_credential_not_proven_yet_is_asked_again(monkeypatch: pytest.MonkeyPatch) -> None:
    calls, seen = _run(monkeypatch, [{}, {}, {"org_id": "org-1"}])
    assert calls == 3 and seen == [None, None, "org-1", "org-1"]


def test_a_staff_token_the_limiter_decoded_is_not_decoded_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    decoded: list[str] = []
    monkeypatch.setattr(deps, "verified_claims",  # (server.auth.deps.token_claims' look-up)
                        lambda ctx, token: decoded.append(token) or {"org": "o2"})
    state = {deps.CLAIMS_STATE: ("jwt-1", {"org": "o1", "sub": "s"})}
    ctx: Any = type("Ctx", (), {"settings": None})()
    assert logging_setup.credential_ids(ctx, "Bearer jwt-1", state) == {"org_id": "o1"}
    assert decoded == []  # the claims the request already had
    assert logging_setup.credential_ids(ctx, "Bearer jwt-2", state) == {"org_id": "o2"}
    assert decoded == ["jwt-2"]  # another token than the one decoded: decoded
