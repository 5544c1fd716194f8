"""The journal across the wire: a till that sold before enrolling verifies clean after,
its chain head lands in the server's journal with its push, and a printed receipt's QR
code checks against the server's journal (one changed byte does not)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from app.domain.permissions import Role
from app.services.journal import check_journal
from app.store import audit
from app.store.audit import chain_head
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
