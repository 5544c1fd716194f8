"""The journal across the wire: a till that sold before enrolling verifies clean after,
its chain head lands in the server's journal with its push, and a printed receipt's QR
code checks against the server's journal (one changed byte does not)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import datetime
from pathlib import Path

import pytest

from app.domain.permissions import Role
from app.services.journal import check_journal
from app.store import audit
from app.store.audit import chain_head, entry_hash
from app.store.base import utcnow
from app.store.local import open_store
from app.store.models import Device
from printing.pdf_output import write_receipt_pdf
from printing.receipt import build_receipt
from server.journal import heads, status
from sync.enroll import enroll
from tests.printing.test_receipt_journal_qr import decoded_qr, needs_tools
from tests.server.support import Tenant
from tests.sync.conftest import BACKENDS, Till, enrollment_code
from ui.cli import main as tillsync


def _demo_then_enrolled(path: Path, tenant: Tenant) -> Till:
    store = open_store(path)
    with store.db.write() as s:  # what the demo audits, under the till's first device id
        audit.append(s, s.get(Device, store.device_id), at=utcnow(), actor_id="system",
                     action="demo.seed", entity_type="store", entity_id="demo",
                     changes={"products": {"before": 0, "after": 20}}, reason="demo data")
    asyncio.run(enroll(store, tenant.server.base_url, enrollment_code(tenant), "Till 1"))
    till = Till(store, tenant)
    till.sell(price=250)
    return till


@BACKENDS
def test_a_demo_till_that_enrolls_verifies_and_its_head_reaches_the_server(
        tmp_path: Path, tenant: Tenant) -> None:
    till = _demo_then_enrolled(tmp_path / "till", tenant)
    try:
        report = check_journal(till.store)
        assert report.ok, report.problem
        till.sync()
        with till.store.db.read() as s:
            head = chain_head(s)
        ctx = tenant.server.ctx
        assert heads.latest_head(ctx, till.store.device_id) == head
        [verdict] = status.verify_all(ctx.engine, ctx.writer, tenant.org_id)
        assert verdict.ok, verdict.problem
    finally:
        till.store.close()


@needs_tools
@BACKENDS
def test_a_printed_receipt_checks_against_the_servers_journal(tmp_path: Path,
                                                              tenant: Tenant) -> None:
    till = _demo_then_enrolled(tmp_path / "till", tenant)
    try:
        sale = till.sell(price=420)
        till.sync()
        pdf = write_receipt_pdf(build_receipt(till.store, sale.order_id), tmp_path / "r.pdf")
        [text] = decoded_qr(pdf, tmp_path)
    finally:
        till.store.close()
    manager = tenant.login(Role.MANAGER)
    with tenant.server.client() as c:
        r = c.get("/journal/receipt", params={"code": text}, headers=manager)
        assert r.status_code == 200, r.text
        assert r.json()["matches"] is True, r.json()
        assert sale.reference in r.json()["message"]
        changed = text[:-1] + ("A" if text[-1] != "A" else "B")  # one byte of the code
        r = c.get("/journal/receipt", params={"code": changed}, headers=manager)
        assert r.status_code == 200 and r.json()["matches"] is False, r.json()
        assert "does not match" in r.json()["message"]
        r = c.get("/journal/receipt", params={"code": text}, headers=tenant.login(Role.CASHIER))
        assert r.status_code == 403
        r = c.get("/journal/receipt", params={"code": "not a receipt"}, headers=manager)
        assert r.status_code == 422


@BACKENDS
def test_verify_compares_the_till_with_the_servers_journal(
        tmp_path: Path, tenant: Tenant, capsys: pytest.CaptureFixture[str]) -> None:
    """A journal rewritten whole on the till (an edit with every hash recomputed) holds on
    its own; the head the server's journal holds of it is what shows the edit."""
    till = _demo_then_enrolled(tmp_path / "till", tenant)
    till.sync()
    verify = ["--data-dir", str(till.store.data_dir), "audit", "verify"]
    assert tillsync(verify) == 0
    with till.store.db.read() as s:
        seq, _ = chain_head(s)
    assert f"vouches for this till's journal up to entry {seq}" in capsys.readouterr().out
    _rewrite_last_entry(till.store.db.path)
    till.store.close()
    assert tillsync(verify) == 1
    out = capsys.readouterr().out
    assert "The journal holds" in out  # the forgery holds on its own...
    assert f"entry {seq}: edited" in out  # ...not against the server's journal


def _rewrite_last_entry(path: Path) -> None:
    _rewrite_from(path, None)


def _rewrite_from(path: Path, first_seq: int | None) -> None:
    """What an attacker who knows the hash rule does: edit an entry (the last one if
    ``first_seq`` is None), hash it and every entry after it again, and move the
    device's head to match."""
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    conn.execute("DROP TRIGGER audit_log_no_update")
    rows = [dict(r) for r in conn.execute("SELECT * FROM audit_log ORDER BY seq")]
    start = len(rows) - 1 if first_seq is None else first_seq - 1
    rows[start]["reason"] = "nothing to see"
    prev = rows[start]["prev_hash"]
    for row in rows[start:]:
        fields = {k: row[k] for k in ("id", "device_id", "seq", "actor_id", "action",
                                      "entity_type", "entity_id", "reason")}
        fields["changes"] = json.loads(row["changes"])
        fields["at"] = datetime.fromisoformat(row["at"]).replace(tzinfo=None).isoformat()
        digest = entry_hash(prev, fields)
        conn.execute("UPDATE audit_log SET reason = ?, prev_hash = ?, hash = ? WHERE id = ?",
                     (row["reason"], prev, digest, row["id"]))
        prev = digest
    conn.execute("UPDATE device SET audit_head = ?", (prev,))
    conn.commit()
    conn.close()


@BACKENDS
def test_a_rewrite_pushed_over_is_still_found_at_an_older_head(
        tmp_path: Path, tenant: Tenant, capsys: pytest.CaptureFixture[str]) -> None:
    """The attacker rewrites an older entry and every one after it, then sells and syncs
    again, so the server's latest head is the forgery's: the head held before it is not."""
    till = _demo_then_enrolled(tmp_path / "till", tenant)
    till.sync()
    with till.store.db.read() as s:
        first_seq, _ = chain_head(s)
    till.sell(price=300)
    till.sync()
    till.store.close()
    _rewrite_from(till.store.db.path, first_seq)
    store = open_store(till.store.data_dir)
    try:
        Till(store, tenant).sell(price=310)
        Till(store, tenant).sync()
        verify = ["--data-dir", str(store.data_dir), "audit", "verify"]
        assert tillsync(verify) == 1
        out = capsys.readouterr().out
        assert "The journal holds" in out
        assert f"entry {first_seq}: edited" in out
    finally:
        store.close()


def test_the_journal_page_shows_what_the_server_vouches_for(tmp_path: Path, tenant: Tenant,
                                                            qtbot) -> None:  # type: ignore[no-untyped-def]
    """Settings > Journal on an enrolled till: the till's own check, then the server's."""
    from ui.context import AppContext
    from ui.ops import Ops
    from ui.screens.journal import JournalPage

    till = _demo_then_enrolled(tmp_path / "till", tenant)
    try:
        till.sync()
        with till.store.db.read() as s:
            seq, _ = chain_head(s)
        ops = Ops()
        page = JournalPage(AppContext(till.store, ops))
        qtbot.addWidget(page)
        page.show()
        qtbot.waitUntil(lambda: page.server_line.isVisible(), timeout=15_000)
        ops.wait_idle()
        assert "The journal holds" in page.verdict.text()
        assert f"vouches for this till's journal up to entry {seq}" in page.server_line.text()
        page.grab().save(str(tmp_path / "journal-page-enrolled.png"))
        Path("/tmp/journal_shots").mkdir(exist_ok=True)
        page.grab().save("/tmp/journal_shots/journal-page-enrolled.png")
    finally:
        till.store.close()
