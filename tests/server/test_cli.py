"""The tillsync-server CLI against a real SQLite file."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.domain import demo_catalog
from server.cli import demo_staff_ids, main
from server.config import Settings
from server.db.engine import make_engine, session_factories
from server.db.models import FeedEntry, Product, Staff, StockLevel, Store


def test_cli_bootstrap_and_demo(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    db = f"sqlite:///{tmp_path}/cli.db"
    assert main(["create-org", "--db", db, "Acme"]) == 0
    org_id = capsys.readouterr().out.split()[1]
    assert main(["create-store", "--db", db, "--org", org_id, "Acme One"]) == 0
    store_id = capsys.readouterr().out.split()[1]
    assert main(["create-staff", "--db", db, "--org", org_id, "--role", "manager",
                 "--pin", "246813", "Mia"]) == 0
    assert "role manager code 1001" in capsys.readouterr().out
    assert main(["create-staff", "--db", db, "--org", org_id, "--role", "cashier",
                 "--pin", "2469", "--code", "77", "Ola"]) == 0
    assert "code 77" in capsys.readouterr().out
    assert main(["enrollment-code", "--db", db, "--store", store_id]) == 0
    code = capsys.readouterr().out.strip()
    assert len(code) == 11 and code[5] == "-"
    assert main(["demo", "--db", db, "--products", "300",
                 "--code-file", str(tmp_path / "code.txt")]) == 0
    out = capsys.readouterr().out
    for name in ("Olivia Owner", "Max Manager", "Cass Cashier", "Sam Stock"):
        assert name in out
    assert demo_staff_ids()["1001"] in out
    enrollment = (tmp_path / "code.txt").read_text().strip()
    assert len(enrollment) == 11 and enrollment not in out
    assert (tmp_path / "tillsync-server-data.key").exists()
    assert main(["demo", "--db", db]) == 1  # not twice

    expected = list(demo_catalog.generate_products(300))
    engine = make_engine(db)
    _, reader = session_factories(engine)
    with reader() as s:
        store = s.scalars(select(Store).where(Store.name == "Harbour Street Grocer")).one()
        assert store.tax_id == "IE1234567T"
        products = {p.id: p for p in s.scalars(select(Product).where(Product.org_id == store.org_id))}
        assert len(products) == 300
        for dp in expected:
            p = products[dp.id]
            assert (p.sku, p.name, p.category, p.price, p.tax_rate_ppm, tuple(p.barcodes),
                    p.sold_by_weight, p.reorder_level_milli) == (
                dp.sku, dp.name, dp.category, dp.price, dp.tax_rate_ppm, dp.barcodes,
                dp.sold_by_weight, dp.reorder_level_milli)
        levels = {lv.product_id: lv.qty_milli for lv in s.scalars(
            select(StockLevel).where(StockLevel.store_id == store.id))}
        assert levels == {dp.id: dp.initial_stock_milli for dp in expected
                          if dp.initial_stock_milli}
        codes = {st.code: st.id for st in s.scalars(select(Staff).where(Staff.org_id == store.org_id))}
        assert codes == demo_staff_ids()
        feed = s.scalar(select(func.count()).select_from(FeedEntry)
                        .where(FeedEntry.store_id == store.id))
        assert feed == store.feed_position
    engine.dispose()


def test_demo_refuses_another_data_key(tmp_path, monkeypatch,  # type: ignore[no-untyped-def]
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """A wrong key is refused in one line on stderr, exit 2 (it was a traceback)."""
    import base64

    db = f"sqlite:///{tmp_path}/k.db"
    assert main(["create-org", "--db", db, "Acme"]) == 0
    monkeypatch.setenv("TILLSYNC_SERVER_DATA_KEY", base64.b64encode(b"x" * 32).decode())
    assert Settings.from_env().server_data_key
    capsys.readouterr()
    assert main(["create-org", "--db", db, "Other"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tillsync-server: ") and "Traceback" not in err
    assert "TILLSYNC_SERVER_DATA_KEY" in err
