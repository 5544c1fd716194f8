"""Pushes at once from several tills through two server instances on one database (two
push writers, as two worker processes have): the journal still gives every entry one
place, in commit order, and holds."""

from __future__ import annotations

import threading
from dataclasses import replace

from sqlalchemy import func, select

from app.domain.permissions import Role
from server.config import Settings
from server.db.models import AuditEntry
from server.journal import status
from server.journal.chain import LINKS
from tests.server.conftest import TEST_DATA_KEY
from tests.server.support import Terminal, make_tenant, running_server


def test_concurrent_pushes_through_two_writers_chain_once_each(own_db_url: str) -> None:
    settings = Settings(database_url=own_db_url, jwt_secret="concurrent-" + "x" * 40,
                        argon2_time_cost=1, argon2_memory_kib=8192,
                        server_data_key=TEST_DATA_KEY, journal_check_interval_s=0,
                        rate_limit_per_second=10_000, rate_limit_burst=100_000)
    with running_server(settings) as one, running_server(settings) as two, \
            make_tenant(one) as tenant:
        tills = [tenant.term] + [tenant.enroll(name=f"Till {i}") for i in range(1, 6)]
        errors: list[BaseException] = []

        def sell(till: Terminal, server_index: int) -> None:
            target = replace(till, server=(one, two)[server_index % 2])
            try:
                for _ in range(6):
                    ops = [target.order_create(tenant.staff[Role.CASHIER], pay=True)
                           for _ in range(4)]
                    results = target.push(ops)["results"]
                    assert {r["status"] for r in results} == {"applied"}, results
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=sell, args=(t, i)) for i, t in enumerate(tills)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        ctx = one.ctx
        [verdict] = status.verify_all(ctx.engine, ctx.writer, tenant.org_id)
        assert verdict.ok, verdict.problem
        with ctx.reader() as s:
            entries = s.scalar(select(func.count()).select_from(AuditEntry)
                               .where(AuditEntry.org_id == tenant.org_id))
            links = s.scalar(select(func.count()).select_from(LINKS)
                             .where(LINKS.c.org_id == tenant.org_id))
        assert entries == links == verdict.entries and entries >= 6 * 6 * 4
