"""Shared fixtures of the core suite: a fresh local store per test, staff, a keyring.

Only core (app/) fixtures live here; the UI, printing, sync and server suites keep
their own conftest.py in their folders.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import keyring
import keyring.backend
import pytest
from keyring.backends import fail

from app.domain.permissions import Role
from app.store.local import LocalStore, open_store
from app.store.models import Staff
from app.store.unit_of_work import Actor

TEST_PASSPHRASE = "test-passphrase"

# (id, name, code, role, pin); ids fixed so tests can name them.
TEST_STAFF = [
    ("00000000-0000-7000-8000-000000000001", "Olivia Owner", "1001", Role.OWNER, "111111"),
    ("00000000-0000-7000-8000-000000000002", "Max Manager", "1002", Role.MANAGER, "222222"),
    ("00000000-0000-7000-8000-000000000003", "Cass Cashier", "1003", Role.CASHIER, "3333"),
    ("00000000-0000-7000-8000-000000000004", "Sam Stock", "1004", Role.STOCK, "4444"),
]


def _share_httpx_default_tls_context() -> None:
    """Every httpx client with httpx's default verification shares one SSL context.

    httpx builds a new context per Client, reading and parsing certifi's CA bundle: ~22 ms
    of CPU each, and the suite makes thousands of clients (to its plain-HTTP test servers,
    ~3.6 a server or sync test). The shared context is built as httpx builds it and never
    changed after (the app's pinned contexts and the TLS tests' own are handed to httpx,
    not made by it: those calls, and any with a certificate, still go to httpx).
    """
    import functools
    import os

    import httpx._transports.default as transport

    make = transport.create_ssl_context

    @functools.cache
    def default(trust_env: bool, cert_file: str | None, cert_dir: str | None) -> Any:
        return make(verify=True, cert=None, trust_env=trust_env)

    def shared(verify: Any = True, cert: Any = None, trust_env: bool = True) -> Any:
        if verify is True and cert is None:
            return default(trust_env, os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
        return make(verify=verify, cert=cert, trust_env=trust_env)

    transport.create_ssl_context = shared  # type: ignore[assignment]


_share_httpx_default_tls_context()


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A real keyring backend that keeps secrets in a dict (stands in for the OS keyring)."""

    priority = 5

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.secrets.pop((service, username), None)


@pytest.fixture
def no_keyring() -> Iterator[None]:
    """The headless-Linux case: keyring has no backend."""
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture(scope="session")
def pin_hashes() -> dict[str, str]:
    """argon2 hashes of the test PINs, computed once per test session (hashing is slow)."""
    from app.services.staff import hash_pin

    return {code: hash_pin(pin) for _, _, code, _, pin in TEST_STAFF}


def add_test_staff(store: LocalStore, pin_hashes: dict[str, str]) -> dict[Role, Actor]:
    with store.db.write() as s:
        for sid, name, code, role, _ in TEST_STAFF:
            s.add(Staff(id=sid, name=name, code=code, role=role.value, pin_hash=pin_hashes[code]))
    return {role: Actor(sid, name, role) for sid, name, _, role, _ in TEST_STAFF}


@pytest.fixture(scope="session")
def migrated_store_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store database file the migrations built, once per test process, with no rows
    (no device, no settings, no key check): what ``fresh_store`` copies."""
    from app.store.database import Database
    from app.store.local import DB_FILE

    path = tmp_path_factory.mktemp("migrated-store") / DB_FILE
    Database(path).close()
    assert not path.with_name(path.name + "-wal").exists(), "the WAL was not checkpointed"
    return path


def fresh_store(data_dir: Path, migrated_store_file: Path,
                passphrase: str | None = TEST_PASSPHRASE) -> LocalStore:
    """A new store in ``data_dir`` as open_store makes it (its own device id, settings and
    data key: in the keyring when one is usable, else in data-key.enc under ``passphrase``),
    from a copy of the migrated file instead of running the migrations again (the tests of
    the migrations open their stores themselves). The file holds no key, so one serves
    every passphrase."""
    import shutil

    from app.store.local import DB_FILE

    data_dir.mkdir(parents=True, exist_ok=True)
    if (data_dir / DB_FILE).exists():
        raise FileExistsError(f"a store is already in {data_dir}")
    shutil.copyfile(migrated_store_file, data_dir / DB_FILE)
    return open_store(data_dir, passphrase=passphrase)


_DEMO_PIN_HASHES: dict[tuple[str, Any], str] = {}


def seed_demo(store: LocalStore, count: int) -> int:
    """``demo.seed(store, count)`` with each demo PIN hashed once per test process by the
    app's own hash_pin (argon2id at the till's cost, the same rules checked) and that hash
    written into every store seeded after: four hashes were ~60 % of a seeded store's
    set-up CPU (~85 ms of ~160). As ``pin_hashes`` does for the core suite's staff."""
    from app import demo
    from app.services import staff

    hash_pin = staff.hash_pin

    def once(pin: str, role: Any = None) -> str:
        if (pin, role) not in _DEMO_PIN_HASHES:
            _DEMO_PIN_HASHES[pin, role] = hash_pin(pin, role)
        return _DEMO_PIN_HASHES[pin, role]

    # demo.seed_staff looks hash_pin up in app.services.staff at each call
    staff.hash_pin = once
    try:
        return demo.seed(store, count)
    finally:
        staff.hash_pin = hash_pin


@pytest.fixture
def store(tmp_path: Path, no_keyring: None, migrated_store_file: Path) -> Iterator[LocalStore]:
    """A fresh, migrated store in a temporary directory (key kept in a passphrase file)."""
    s = fresh_store(tmp_path / "data", migrated_store_file)
    yield s
    s.close()


@pytest.fixture
def actors(store: LocalStore, pin_hashes: dict[str, str]) -> dict[Role, Actor]:
    """The four test staff in ``store``, as Actors by role."""
    return add_test_staff(store, pin_hashes)


@pytest.fixture
def catalog_store(store: LocalStore) -> LocalStore:
    """``store`` with the 2,000-product demo catalog."""
    from app.demo import seed_catalog

    seed_catalog(store, 2000)
    return store


def pytest_configure(config: pytest.Config) -> None:
    """Give each pytest process its own base temp dir.

    Several engineers run pytest at once on this machine; with the shared default
    (/tmp/pytest-of-USER/pytest-N) a starting session prunes the directories of
    sessions still running, whose SQLite files then vanish mid-test.
    """
    import os
    import tempfile

    if config.option.basetemp is None and not hasattr(config, "workerinput"):
        config.option.basetemp = Path(tempfile.gettempdir()) / f"pytest-tillsync-{os.getpid()}"


# A worker that dies of a fatal signal (SIGSEGV, SIGBUS, Qt's abort) takes its report with
# it; xdist says only "worker 'gw1' crashed while running <test>", and a CI log may keep
# only the tail of faulthandler's dump on stderr. So each process writes the dump to a file
# of its own instead (every thread's Python stack, the crashing one marked), after a line per
# test it started and the Qt thread warnings tests/ui/conftest.py notes; the main process
# prints the file of a worker that went down (pytest_testnodedown) and deletes the files of
# a run that ended normally. FAULT_DIR_ENV names the folder (default: the system temp dir).
FAULT_DIR_ENV = "TILLSYNC_FAULT_DIR"
FAULT_TAIL_LINES = 400


def fault_log_path(worker: str, pid: int) -> Path:
    """This run's fault log of xdist's ``worker`` in process ``pid``."""
    import os
    import tempfile

    folder = Path(os.environ.get(FAULT_DIR_ENV) or tempfile.gettempdir())
    return folder / f"tillsync-faults-{os.environ.get('TILLSYNC_FAULT_RUN', pid)}-{worker}-{pid}.log"


_FAULT_LOG = pytest.StashKey[TextIO]()


def pytest_sessionstart(session: pytest.Session) -> None:
    """A worker's fault log on (after pytest's faulthandler plugin set stderr up: the file wins)."""
    import faulthandler
    import os

    config = session.config
    if not hasattr(config, "workerinput"):  # no worker: a crash ends this very process, and
        os.environ.setdefault("TILLSYNC_FAULT_RUN", str(os.getpid()))  # stderr is the place
        return
    worker = config.workerinput["workerid"]
    path = fault_log_path(worker, os.getpid())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        log = path.open("w", buffering=1, encoding="utf-8")
    except OSError:
        return  # no diagnostics is no reason to refuse to test
    log.write(f"pytest worker {worker}, process {os.getpid()}\n")
    faulthandler.enable(file=log, all_threads=True)
    config.stash[_FAULT_LOG] = log


def fault_note(config: pytest.Config, line: str) -> None:
    """A line in this process's fault log, written through at once (a crash may follow)."""
    log = config.stash.get(_FAULT_LOG, None)
    if log is not None:
        log.write(line.rstrip("\n") + "\n")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    import time

    fault_note(item.config, f"{time.strftime('%H:%M:%S')} start {item.nodeid}")


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """(xdist, main process) A worker went down: print the tail of its fault log."""
    if not error:
        return
    import os
    import sys
    import tempfile

    worker = getattr(getattr(node, "gateway", None), "id", "?")
    folder = Path(os.environ.get(FAULT_DIR_ENV) or tempfile.gettempdir())
    found = sorted(folder.glob(f"tillsync-faults-{os.environ.get('TILLSYNC_FAULT_RUN')}-{worker}-*.log"))
    if not found:
        sys.stderr.write(f"\n[tillsync] no fault log of worker {worker} in {folder}\n")
        return
    for path in found:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        shown = lines[-FAULT_TAIL_LINES:]
        sys.stderr.write(f"\n[tillsync] fault log of worker {worker} ({path}, kept; last "
                         f"{len(shown)} of {len(lines)} lines):\n" + "\n".join(shown) + "\n")
    sys.stderr.flush()


def pytest_unconfigure(config: pytest.Config) -> None:
    import faulthandler
    import os
    import shutil
    import tempfile

    log = config.stash.get(_FAULT_LOG, None)
    if log is not None:  # this process ended normally: its fault log says nothing
        faulthandler.disable()
        log.close()
        Path(log.name).unlink(missing_ok=True)

    ours = Path(tempfile.gettempdir()) / f"pytest-tillsync-{os.getpid()}"
    if Path(str(config.option.basetemp or "")) == ours:
        shutil.rmtree(ours, ignore_errors=True)


@pytest.fixture(autouse=True)
def _qt_garbage_of_tests_outside_ui(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test outside tests/ui that runs Qt (a qasync loop in tests/sync) leaves Qt
    objects in reference cycles as UI tests do (its socket notifiers and timers): they are
    freed here, on the GUI thread, at its teardown, as tests/ui/conftest.py does for
    every UI test. Left to the collector, a server thread of the NEXT test freed them and
    the main thread's event processing touched the freed memory: a worker crashed in
    tests/sync/test_conflict_resolution_codes.py right after test_client_and_loop's
    qasync test (CI log, 2026-12-04 21:30)."""
    yield
    if "qapp" not in request.fixturenames and "qtbot" not in request.fixturenames:
        return
    if Path(str(request.node.fspath)).parent.name == "ui":
        return  # tests/ui/conftest.py's own teardown
    free_qt_garbage_here()


def free_qt_garbage_here() -> None:
    """Free, on this (the GUI) thread, the Qt objects a test left in reference cycles:
    deferred deletes delivered, a full collection, then what survives frozen out of
    later collections (the process's for good: modules, caches, the QApplication), so
    the next test's teardown walks only what that test made."""
    import gc

    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    if QApplication.instance() is not None:
        QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()
    gc.freeze()
