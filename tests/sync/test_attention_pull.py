"""The till keeps what the server says needs attention (GET /attention/terminal) and
shows it in its "needs attention" list with how fresh it is: a silent till of its store
and the server's journal check failing after a row was edited in the database itself.
On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import text, update

from app.services import server_attention
from app.services.attention import needs_attention
from app.store.models import SyncState
from server.db.base import utcnow
from server.db.models import Terminal
from server.journal import status
from sync import attention_pull
from sync.client import SyncClient
from tests.server.test_journal import _attacker, _links
from tests.sync.conftest import BACKENDS


def _tried(store) -> str | None:  # type: ignore[no-untyped-def]
    with store.db.read() as s:
        row = s.get(SyncState, server_attention.TRIED_KEY)
        return None if row is None else row.value


@BACKENDS
def test_the_servers_items_reach_the_tills_attention_list(till_factory, tenant) -> None:  # type: ignore[no-untyped-def]
    till = till_factory("Front")
    ctx = tenant.server.ctx
    # the tenant's own first till has been silent for three hours
    with ctx.writer.begin() as s:
        s.execute(update(Terminal).where(Terminal.id == tenant.term.device_id)
                  .values(last_seen_at=utcnow() - timedelta(hours=3), name="Back till"))
    for _ in range(3):
        till.sell()
    till.sync()  # the sales reach the server's journal; the attention list is fetched
    first = server_attention.read(till.store)
    assert first is not None and first.journal_state in ("ok", "never_checked")
    assert [t.name for t in first.silent] == ["Back till"]

    third = _links(tenant)[2]
    with _attacker(ctx.settings.database_url) as conn:
        conn.execute(text(f"UPDATE audit_entries SET reason = 'x' WHERE id = {third.audit_id}")
                     .text)
    status.check_all(ctx.engine, ctx.writer, tenant.org_id)

    tried = _tried(till.store)
    till.sync()  # within five minutes: not asked again
    assert _tried(till.store) == tried
    assert not attention_pull.due(till.store, datetime.now(UTC))
    assert asyncio.run(_pull(till, force=True))

    found = needs_attention(till.store)
    by_key = {i.key: i for i in found.items}
    silent, journal = by_key["silent_terminals"], by_key["server_journal"]
    assert (silent.count, silent.screen) == (1, "sync_health")
    assert silent.text.startswith("1 till not heard from for over 1 h (server, as of ")
    assert journal.screen == "journal"
    assert f"entry {third.seq}: edited" in journal.text and "(server, as of " in journal.text
    assert silent.as_of is not None and datetime.now(UTC) - silent.as_of < timedelta(minutes=5)

    # offline: the last answer stays, with its time
    dead = SyncClient("http://127.0.0.1:9", till.token(), timeout=2)
    assert not asyncio.run(_pull(till, force=True, client=dead))
    again = {i.key: i for i in needs_attention(till.store).items}
    assert again["server_journal"].as_of == journal.as_of


async def _pull(till, *, force: bool, client: SyncClient | None = None) -> bool:  # type: ignore[no-untyped-def]
    async with client or till.client() as c:
        return await attention_pull.pull_attention(till.store, c, force=force)
