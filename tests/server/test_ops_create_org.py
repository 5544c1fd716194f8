"""``tillsync-server create-org`` makes an organization that can trade at once (issue 16,
item 1): a store with its currency, locale, tax mode and receipt text, the owner, and a
first enrollment code as text, link and QR code; all editable afterwards."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from server.cli import main
from server.db.engine import make_engine, session_factories
from server.db.models import EnrollmentCode, Staff, Store
from server.ops.org_setup import enrollment_link, qr_png
from ui.screens.first_run import read_link


def test_create_org_seeds_a_store_an_owner_and_a_code(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path}/org.db"
    assert main(["create-org", "--db", db, "Corner Shop", "--currency", "GBP",
                 "--locale", "en_GB", "--owner", "Orla", "--owner-pin", "135790",
                 "--owner-password", "correct horse 1", "--server-url",
                 "https://tills.example:8443", "--qr"]) == 0
    out = capsys.readouterr().out
    org_id = out.split()[1]  # the first line stays "organization <id> <name>"
    code = out.split("an owner's till): ")[1].split()[0]
    link = out.split("first till: ")[1].split()[0]
    assert read_link(link) == ("https://tills.example:8443", code)
    assert "█" in out  # the QR code, drawn
    engine = make_engine(db)
    _, reader = session_factories(engine)
    with reader() as s:
        store = s.scalars(select(Store).where(Store.org_id == org_id)).one()
        assert (store.name, store.currency, store.locale, store.tax_inclusive) == (
            "Corner Shop", "GBP", "en_GB", True)
        assert store.receipt_footer == "Thank you for shopping with us!"
        owner = s.scalars(select(Staff).where(Staff.org_id == org_id)).one()
        assert (owner.name, owner.role) == ("Orla", "owner")
        codes = s.scalars(select(EnrollmentCode).where(EnrollmentCode.store_id == store.id)).all()
        assert len(codes) == 1 and codes[0].max_role == "owner"
    engine.dispose()
    assert main(["create-store", "--db", db, "--org", org_id, "Second"]) == 0  # editable after


def test_create_org_without_a_server_url_prints_no_made_up_link(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path}/org.db"
    assert main(["create-org", "--db", db, "Corner Shop", "--qr"]) == 2  # a QR to nowhere
    out, err = capsys.readouterr()
    assert out == "" and "--qr needs --server-url" in err
    assert main(["create-org", "--db", db, "Corner Shop"]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].startswith("organization ") and len(lines) == 4, out
    assert lines[3].startswith("enrollment code (one-time, 7 days, an owner's till): ")
    assert "tillsync://" not in out and "give --server-url" in err
    _, reader = session_factories(make_engine(db))
    with reader() as s:  # the refused --qr run made nothing
        assert len(s.scalars(select(Store)).all()) == 1


def test_the_enrollment_qr_code_reads_back(tmp_path: Path) -> None:
    link = enrollment_link("http://10.0.0.5:8000", "AB12C-DE34F")
    path = tmp_path / "code.png"
    path.write_bytes(qr_png(link))
    try:
        read = subprocess.run(["zbarimg", "-q", "--raw", str(path)], capture_output=True,
                              text=True, check=True).stdout.strip()
    except FileNotFoundError:
        pytest.skip("zbarimg is not installed")
    assert read_link(read) == ("http://10.0.0.5:8000", "AB12C-DE34F")


def test_an_admin_gets_an_enrollment_link_and_qr_code_over_rest(tenant, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import base64

    from app.domain.permissions import Role

    with tenant.server.client() as c:
        r = c.post("/terminals/enrollment-links", headers=tenant.login(Role.ADMIN),
                   json={"store_id": tenant.store_id, "server_url": "https://tills.example"})
        assert r.status_code == 201, r.text
        body = r.json()
        assert read_link(body["link"]) == ("https://tills.example", body["code"])
        png = tmp_path / "qr.png"
        png.write_bytes(base64.b64decode(body["qr_png_base64"]))
        try:
            read = subprocess.run(["zbarimg", "-q", "--raw", str(png)], capture_output=True,
                                  text=True, check=True).stdout.strip()
            assert read == body["link"]
        except FileNotFoundError:
            pass
        enrolled = c.post("/terminals/enroll", json={"code": body["code"], "name": "QR till"})
        assert enrolled.status_code == 201, enrolled.text
        refused = c.post("/terminals/enrollment-links", headers=tenant.login(Role.CASHIER),
                         json={"store_id": tenant.store_id})
        assert refused.status_code == 403
