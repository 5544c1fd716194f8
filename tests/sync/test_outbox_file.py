"""Sync by file (issue 16, item 8): a till's waiting operations exported to a sealed file,
imported by the server over REST and by its CLI with a push's rules. Importing twice, or
importing then pushing, gives each operation once. Real till store, real server (SQLite
and PostgreSQL)."""

from __future__ import annotations

from argparse import Namespace
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.domain.permissions import Role
from server.db.models import Order as ServerOrder
from server.db.models import Payment as ServerPayment
from server.ops.cli import cmd_import_outbox
from sync.outbox_file import MAGIC, read_header
from tests.server.support import Tenant, make_tenant
from tests.sync.conftest import BACKENDS
from ui.cli import main as tillsync


def count(tenant: Tenant, model: type, ids: list[str], column: str = "id") -> int:
    with tenant.server.ctx.reader() as s:
        col = getattr(model, column)
        return int(s.scalar(select(func.count()).select_from(model).where(col.in_(ids))) or 0)


def import_rest(tenant: Tenant, raw: bytes, role: Role = Role.ADMIN) -> tuple[int, dict]:
    with tenant.server.client() as c:
        r = c.post("/sync/import-outbox", content=raw, headers={
            **tenant.login(role), "Content-Type": "application/octet-stream"})
    return r.status_code, r.json()


@BACKENDS
def test_file_imported_twice_then_pushed_gives_each_sale_once(
        till_factory, tenant: Tenant, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    till = till_factory("A")
    orders = [till.sell(100 + i).order_id for i in range(7)]  # never pushed: an outage
    path = tmp_path / "outbox.tsout"  # (8 ops: the shift the first sale opened, 7 sales)
    assert tillsync(["--data-dir", str(till.store.data_dir), "export-outbox", str(path)]) == 0
    assert "Wrote 8 waiting operations (op_seq 1..8)" in capsys.readouterr().out
    raw = path.read_bytes()
    assert raw.startswith(MAGIC) and b"Coffee" not in raw  # sealed
    assert read_header(raw)[0].count == 8

    status, body = import_rest(tenant, raw)
    assert status == 200, body
    assert (body["applied"], body["duplicate"], body["rejected"]) == (8, 0, 0)
    monkeypatch.setenv("TILLSYNC_SERVER_DATA_KEY", tenant.server.settings.server_data_key or "")
    args = Namespace(db=tenant.server.settings.database_url, file=path)
    assert cmd_import_outbox(args) == 0  # tillsync-server import-outbox, a second time
    assert "0 applied, 8 applied before" in capsys.readouterr().out
    report = till.sync()
    assert report.push.duplicates == 8 and report.push.applied == 0
    assert count(tenant, ServerOrder, orders) == 7
    assert count(tenant, ServerPayment, orders, "order_id") == 7


def test_an_altered_file_or_another_org_or_a_cashier_is_refused(
        till_factory, tenant: Tenant, tmp_path: Path) -> None:
    till = till_factory("A")
    till.sell(300)  # and the shift it opened: 2 ops
    path = tmp_path / "outbox.tsout"
    assert tillsync(["--data-dir", str(till.store.data_dir), "export-outbox", str(path)]) == 0
    raw = path.read_bytes()
    altered = raw.replace(b'"count": 2', b'"count": 3')
    assert altered != raw
    status, body = import_rest(tenant, altered)
    assert status == 422 and "altered" in body["error"]["message"]
    assert import_rest(tenant, raw, Role.CASHIER)[0] == 403
    with make_tenant(tenant.server) as other:
        status, body = import_rest(other, raw)
        assert status == 404
    assert import_rest(tenant, b"hello")[0] == 422
    assert import_rest(tenant, raw)[1]["applied"] == 2
