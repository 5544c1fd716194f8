"""The scheduled journal check: it runs with the server, its result is on /metrics and
in status.latest_result, and a tampered journal shows there within one interval."""

from __future__ import annotations

import time

from sqlalchemy import text

from server.config import Settings
from server.journal import status
from tests.server.conftest import TEST_DATA_KEY
from tests.server.support import make_tenant, running_server
from tests.server.test_journal import _attacker, _links, _sales


def _wait_for(predicate, timeout: float = 30):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("the scheduled check did not report in time")


def test_the_schedule_checks_and_reports(own_db_url: str) -> None:
    settings = Settings(database_url=own_db_url, jwt_secret="schedule-test-secret-" + "x" * 40,
                        argon2_time_cost=1, argon2_memory_kib=8192, server_data_key=TEST_DATA_KEY,
                        public_metrics=True, journal_check_interval_s=0.3)
    with running_server(settings) as server, make_tenant(server) as tenant:
        _sales(tenant, 3)

        def latest():  # type: ignore[no-untyped-def]
            with server.ctx.reader() as s:
                found = status.latest_result(s, tenant.org_id)
            return found if found is not None and found.entries >= 3 else None

        assert _wait_for(latest).ok
        with server.client() as c:
            metrics = c.get("/metrics").text
        assert f'tillsync_journal_ok{{org="{tenant.org_id}"}} 1.0' in metrics
        third = _links(tenant)[2]
        with _attacker(own_db_url) as conn:
            conn.execute(text(f"UPDATE audit_entries SET reason = 'x' WHERE id = {third.audit_id}")
                         .text)

        def broken():  # type: ignore[no-untyped-def]
            found = latest()
            return found if found is not None and not found.ok else None

        assert f"entry {third.seq}: edited" in (_wait_for(broken).problem or "")
        with server.client() as c:
            metrics = c.get("/metrics").text
        assert f'tillsync_journal_ok{{org="{tenant.org_id}"}} 0.0' in metrics
