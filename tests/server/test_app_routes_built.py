"""The server's routes are built when the app is made, not on its first requests.

FastAPI (0.16x) builds an included router's routes, with a pydantic schema (ModelField) per
parameter, lazily on the first request, in the serving thread: ~75 ms of CPU in the first
request of every server process, and, while it builds, ``warnings.catch_warnings`` (not
thread-safe on Python 3.11) hides pydantic's "alias has no effect" warnings only from a
thread no other is in: two servers in one process starting at once leaked them
(tests/server/test_journal_concurrent_pushes.py). ``create_app`` walks the routes once."""

from __future__ import annotations

import pytest
from fastapi._compat import v2

from server.config import Settings
from tests.server.conftest import TEST_DATA_KEY
from tests.server.support import running_server


def test_first_requests_build_no_parameter_schema(own_db_url: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[str] = []
    post_init = v2.ModelField.__post_init__

    def counted(self: v2.ModelField) -> None:
        built.append(self.name)
        post_init(self)

    monkeypatch.setattr(v2.ModelField, "__post_init__", counted)
    settings = Settings(database_url=own_db_url, jwt_secret="routes-" + "x" * 40,
                        argon2_time_cost=1, argon2_memory_kib=8192,
                        server_data_key=TEST_DATA_KEY, journal_check_interval_s=0)
    with running_server(settings) as server:
        assert built  # by create_app: its routes and their parameters
        made = len(built)
        with server.client() as http:
            assert http.get("/health/live").status_code == 200
            assert http.get("/sync/pull", params={"after": 0}).status_code == 401
            assert http.get("/offline-orders", params={"offset": 0}).status_code == 401
            assert http.get("/no-such-path").status_code == 404  # past every router
        assert built[made:] == []
