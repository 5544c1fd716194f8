"""The tillsync-server CLI against a real SQLite file."""

from __future__ import annotations

import pytest

from server.cli import demo_staff_ids, main


def test_cli_bootstrap_and_demo(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    db = f"sqlite:///{tmp_path}/cli.db"
    assert main(["create-org", "--db", db, "Acme"]) == 0
    org_id = capsys.readouterr().out.split()[1]
    assert main(["create-store", "--db", db, "--org", org_id, "Acme One"]) == 0
    store_id = capsys.readouterr().out.split()[1]
    assert main(["create-staff", "--db", db, "--org", org_id, "--role", "manager",
                 "--pin", "2468", "Mia"]) == 0
    assert "role manager" in capsys.readouterr().out
    assert main(["enrollment-code", "--db", db, "--store", store_id]) == 0
    code = capsys.readouterr().out.strip()
    assert len(code) == 11 and code[5] == "-"
    assert main(["demo", "--db", db]) == 0
    out = capsys.readouterr().out
    for name in ("Olivia Owner", "Max Manager", "Cass Cashier", "Sam Stock"):
        assert name in out
    assert demo_staff_ids()["1001"] in out
    assert main(["demo", "--db", db]) == 1  # not twice
