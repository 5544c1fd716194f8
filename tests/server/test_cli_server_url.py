"""``tillsync-server create-org --server-url`` takes only what POST
/terminals/enrollment-links takes for the same link: an http(s) URL with a host, no
spaces or control characters. A refused address makes nothing (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, select

from server.cli import main
from server.db.engine import make_engine, session_factories
from server.db.models import Store
from tests.server.conftest import TEST_DATA_KEY


@pytest.mark.parametrize("url", [
    "javascript:alert(1)", "ftp://tills.example", "https://tills.example\r\nX-Evil: 1",
    "https://tills.example/a b", "tills.example:8000", "https://", "",
])
def test_create_org_refuses_a_server_url_the_enrollment_link_endpoint_refuses(
        own_db_url: str, url: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TILLSYNC_SERVER_DATA_KEY", TEST_DATA_KEY)
    assert main(["create-org", "--db", own_db_url, "Corner Shop", "--server-url", url]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "tillsync://" not in err
    assert err.startswith("tillsync-server: --server-url: the server address "), err
    engine = make_engine(own_db_url)
    try:  # nothing made: not even the schema when the address was refused first
        if inspect(engine).has_table("stores"):
            _, reader = session_factories(engine)
            with reader() as s:
                assert s.scalars(select(Store)).all() == []
    finally:
        engine.dispose()


def test_create_org_takes_an_http_server_url(
        own_db_url: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TILLSYNC_SERVER_DATA_KEY", TEST_DATA_KEY)
    assert main(["create-org", "--db", own_db_url, "Corner Shop",
                 "--server-url", "http://10.0.0.5:8000"]) == 0
    out = capsys.readouterr().out
    assert "first till: tillsync://enroll?server=http%3A%2F%2F10.0.0.5%3A8000&code=" in out
