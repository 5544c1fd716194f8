"""The access logs (Tillsync's and uvicorn's) never hold personal query values: a
``?phone=`` look-up is logged as ``phone=[redacted]``, paths as route templates (issue 12)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest

from app.domain.permissions import Role
from server.middleware import redacted_query
from tests.server.support import Tenant

PHONE = "+353871234567"
EMAIL = "mary.murphy@example.com"


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def _settle(lines: list[str], last: str, timeout_s: float = 5.0) -> None:
    """Wait until both loggers wrote their line of the last request (``last`` in it):
    Tillsync's line is written once the response has gone out, so the client may read
    its answer a moment before it."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        mine = [line for line in lines if last in line]
        if any("request_id=" in line for line in mine) and any(
                "request_id=" not in line for line in mine):
            return
        time.sleep(0.02)


@pytest.fixture
def access_lines() -> Iterator[list[str]]:
    """Every line both access loggers write while the test runs, as they format it."""
    handler = _Lines()
    loggers = [logging.getLogger("tillsync.server.access"), logging.getLogger("uvicorn.access")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.INFO)
    try:
        yield handler.lines
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.removeHandler(handler)
            lg.setLevel(level)


def test_personal_query_values_never_reach_the_access_logs(
    tenant: Tenant, access_lines: list[str]
) -> None:
    manager = tenant.login(Role.MANAGER)
    with tenant.server.client() as c:
        r = c.get("/offline-orders", params={"phone": PHONE, "limit": 5}, headers=manager)
        assert r.status_code == 200, r.text
        c.get("/offline-orders", params={"email": EMAIL, "name": "Mary Murphy",
                                         "code": "ABCDE-12345", "token": "tt_secret"},
              headers=manager)
        c.get(f"/staff/{tenant.staff[Role.CASHIER]}?phone={PHONE}", headers=manager)
    _settle(access_lines, "/staff/")
    ours = [line for line in access_lines if "request_id=" in line]
    theirs = [line for line in access_lines if "request_id=" not in line]
    assert len(ours) >= 3 and len(theirs) >= 3, access_lines  # both loggers were heard
    text = "\n".join(access_lines)
    for secret in (PHONE, "353871234567", "%2B353871234567", EMAIL, "mary.murphy", "Mary",
                   "Murphy", "ABCDE", "tt_secret"):
        assert secret not in text, (secret, text)
    assert "phone=[redacted]" in text and "limit=5" in text
    assert any(line.startswith("GET /offline-orders?phone=[redacted]&limit=5 200")
               for line in ours), ours
    assert any("/staff/{staff_id}" in line for line in ours), ours


def test_redacted_query_keeps_names_and_safe_values_only() -> None:
    assert redacted_query(b"") == ""
    assert redacted_query(b"after=10&limit=50") == "after=10&limit=50"
    assert redacted_query("phone=%2B3538&email=a%40b.c&x") == (
        "phone=[redacted]&email=[redacted]&x=[redacted]")
    assert redacted_query(b"store_id=s1&page_token=abc") == "store_id=s1&page_token=[redacted]"
