"""Upgrades on real old files (issue 16, item 5): every release's saved server database
on SQLite (tests/fixtures/releases/<version>/server) migrates to the newest schema with
every row kept, and the newest server serves it (its owner signs in)."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import pytest

from server.config import Settings
from tests.app.test_release_upgrades import SAVED, counts, kept
from tests.server.support import running_server


@pytest.mark.parametrize("release", SAVED, ids=[p.name for p in SAVED])
def test_the_newest_server_opens_a_saved_database_with_every_row(
        release: Path, tmp_path: Path) -> None:
    manifest = json.loads((release / "manifest.json").read_text())
    shutil.copytree(release / "server", tmp_path / "server")
    db = tmp_path / "server" / "server.db"
    settings = Settings(database_url=f"sqlite:///{db}", jwt_secret="x" + uuid.uuid4().hex,
                        argon2_time_cost=1, argon2_memory_kib=8192, webhook_urls=[])
    with running_server(settings) as srv:  # migrations run at start; the key file beside it
        assert kept(manifest["server"], counts(db)) == {}
        with srv.client() as c:
            staff = c.post("/auth/login", json={"code": "1001", "org_id": _org(db),
                                                "password": "fixture password"})
            assert staff.status_code == 200, staff.text


def _org(db: Path) -> str:
    import sqlite3

    conn = sqlite3.connect(db)
    try:
        return str(conn.execute("SELECT id FROM organizations").fetchone()[0])
    finally:
        conn.close()
