"""The first-run screen against a real server (issue 16, item 1): an organization made
with create-org's defaults (a store, its owner, an enrollment code), a fresh till that
reads the scanned enrollment link, enrolls, and loads the shop with a progress bar."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import func, select

from app.store.local import open_store
from app.store.models import Product, Staff, StoreSettings
from server.cli import seed_demo_catalog
from server.ops.org_setup import ShopDefaults, create_shop, enrollment_link
from tests.server.support import running_server
from tests.sync.conftest import _settings
from ui.main import application
from ui.ops import Ops
from ui.screens.first_run import FirstRunScreen, read_link

DOCS_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def shots(tmp_path: Path) -> Path:
    """docs/screenshots when asked (TILLSYNC_WRITE_SCREENSHOTS=1), else the test's folder:
    a plain test run leaves the tree as it was."""
    return DOCS_SHOTS if os.environ.get("TILLSYNC_WRITE_SCREENSHOTS") else tmp_path


def test_a_scanned_link_fills_address_and_code() -> None:
    assert read_link("tillsync://enroll?server=https%3A%2F%2Fs.example%3A8443&code=AB12C-DE34F") \
        == ("https://s.example:8443", "AB12C-DE34F")
    assert read_link("https://s.example") is None


@pytest.mark.usefixtures("qapp")
def test_first_run_enrolls_and_loads_the_shop(qtbot, tmp_path: Path) -> None:
    with running_server(_settings(f"sqlite:///{tmp_path / 'server.db'}")) as srv:
        with srv.ctx.writer.begin() as s:
            shop = create_shop(s, srv.ctx.hasher, "Corner Shop", ShopDefaults(
                owner_name="Orla Owner", owner_pin="135790", owner_password="correct horse 1"))
            seed_demo_catalog(s, shop.org.id, shop.store.id, 600)
            code = shop.code
        store = open_store(tmp_path / "till", passphrase="x")
        ops = Ops()
        application()  # the product's style sheet, as the app shows the screen
        out = shots(tmp_path)
        screen = FirstRunScreen(store, ops, passphrase="x")
        screen.resize(640, 560)
        screen.show()
        qtbot.waitExposed(screen)
        screen.code.setText(enrollment_link(srv.base_url, code))  # as a scanner types it
        assert (screen.address.text(), screen.code.text()) == (srv.base_url, code)
        seen: list[tuple[int, object]] = []
        screen._progress.connect(lambda done, total: seen.append((done, total)))
        screen._progress.connect(lambda *_: seen and seen[-1][0] > 300 and not out.joinpath(
            "first_run_progress.png").exists() and screen.grab().save(
            str(out / "first_run_progress.png")))
        with qtbot.waitSignal(screen.finished, timeout=120_000) as blocker:
            qtbot.mouseClick(screen.connect_button, Qt.MouseButton.LeftButton)
        report = blocker.args[0]
        screen.grab().save(str(out / "first_run_done.png"))
        with store.db.read() as s:
            assert s.scalar(select(func.count()).select_from(Product)) == 600
            owner = s.scalars(select(Staff).where(Staff.role == "owner")).one()
            assert owner.name == "Orla Owner" and owner.pin_hash
            settings = s.scalars(select(StoreSettings)).one()
            assert settings.name == "Corner Shop"
            assert settings.receipt_footer == "Thank you for shopping with us!"
        totals = [t for _, t in seen if t]
        assert totals and seen[-1][0] == totals[-1]  # the bar reached its end
        assert report.pull.snapshot and "This till is ready" in screen.status.text()
        assert store.device().server_url == srv.base_url
        ops.wait_idle()
        store.close()


@pytest.mark.usefixtures("qapp")
def test_a_wrong_code_is_said_in_words(qtbot, tmp_path: Path) -> None:
    with running_server(_settings(f"sqlite:///{tmp_path / 'server.db'}")) as srv:
        store = open_store(tmp_path / "till", passphrase="x")
        ops = Ops()
        screen = FirstRunScreen(store, ops, passphrase="x")
        screen.address.setText(srv.base_url)
        screen.code.setText("AAAAA-BBBBB")
        qtbot.mouseClick(screen.connect_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: "Could not connect" in screen.status.text(), timeout=20_000)
        assert screen.connect_button.isEnabled() and not store.device().server_url
        ops.wait_idle()
        store.close()


@pytest.mark.usefixtures("qapp")
def test_a_self_signed_server_is_shown_checked_then_trusted(
        qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import hashlib
    import ssl

    from server.cli import main as server_cli
    from sync.client import PINNED_CERT
    from tests.server.conftest import TEST_DATA_KEY
    from tests.server.test_tls_and_proxy import free_port, self_signed, serve, trust

    url = f"sqlite:///{tmp_path / 'server.db'}"
    monkeypatch.setenv("TILLSYNC_SERVER_DATA_KEY", TEST_DATA_KEY)
    assert server_cli(["create-org", "--db", url, "TLS Shop", "--owner-pin", "135790"]) == 0
    code = capsys.readouterr().out.split("an owner's till): ")[1].split()[0]
    cert, key = self_signed(tmp_path)
    der = ssl.PEM_cert_to_DER_cert(cert.read_text())
    digest = hashlib.sha256(der).hexdigest().upper()
    port = free_port()
    base = f"https://127.0.0.1:{port}"
    with serve(url, port, "--ssl-certfile", str(cert), "--ssl-keyfile", str(key),
               ready_url=base + "/health/live", verify=trust(cert)):
        store = open_store(tmp_path / "till", passphrase="x")
        ops = Ops()
        application()  # the product's style sheet, as the app shows the screen
        screen = FirstRunScreen(store, ops, passphrase="x")
        screen.resize(640, 560)
        screen.show()
        screen.address.setText(base)
        screen.code.setText(code)
        qtbot.mouseClick(screen.connect_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: screen.trust.isVisible(), timeout=20_000)
        shown = screen.cert_label.text().replace(":", "").replace("\n", "")
        assert "self-signed" in screen.cert_label.text() and digest in shown
        screen.grab().save(str(shots(tmp_path) / "first_run_self_signed.png"))
        qtbot.mouseClick(screen.connect_button, Qt.MouseButton.LeftButton)  # not ticked
        assert "compare its fingerprint" in screen.status.text()
        assert not store.device().server_url
        screen.trust.setChecked(True)
        with qtbot.waitSignal(screen.finished, timeout=120_000):
            qtbot.mouseClick(screen.connect_button, Qt.MouseButton.LeftButton)
        assert (store.data_dir / PINNED_CERT).read_text().strip() == cert.read_text().strip()
        assert store.device().server_url == base
        ops.wait_idle()
        store.close()
