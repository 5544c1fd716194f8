"""Issue 21, defect 10's last part: the README's product command, `bash scripts/run-demo`,
on a machine with no display, stops everything it started. Started as a person starts it
(no DISPLAY: it starts its own Xvfb), left to start its embedded server and sync, then
stopped the two ways the README gives: the window's close button (WM_DELETE_WINDOW, what
a window manager sends) and SIGTERM (Ctrl+C's twin). Afterwards nothing of it runs: no
process of its group, the server's port closed, the virtual display gone."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.ui import x11

ROOT = Path(__file__).resolve().parents[2]
READY = re.compile(r"embedded server ready at http://127\.0\.0\.1:(\d+)")
pytestmark = pytest.mark.skipif(shutil.which("Xvfb") is None, reason="needs Xvfb")


def _free_display() -> str:
    start = 150 + os.getpid() % 50 * 2  # two test workers never pick the same number at once
    for n in [*range(start, 260), *range(150, start)]:
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            return f":{n}"
    raise RuntimeError("no free X display number")


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _start(tmp_path: Path) -> tuple[subprocess.Popen, str, Path]:
    display = _free_display()
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env |= {"TILLSYNC_DISPLAY": display, "TILLSYNC_DATA_DIR": str(tmp_path / "data"),
            "TILLSYNC_KEY_PASSPHRASE": "demo-test"}
    env.pop("TILLSYNC_TEST", None)
    log = tmp_path / "run-demo.log"
    proc = subprocess.Popen(["bash", "scripts/run-demo"], cwd=ROOT, env=env, stdout=log.open("w"),
                            stderr=subprocess.STDOUT, start_new_session=True)
    return proc, display, log


def _wait_running(proc: subprocess.Popen, display: str, log: Path) -> tuple[int, int]:
    """(server port, window) once the demo's server is up and its window shows."""
    deadline = time.monotonic() + 240  # a first start: set-up, the server's seed, the first sync
    port, window = None, None
    while time.monotonic() < deadline and (port is None or window is None):
        assert proc.poll() is None, log.read_text()
        found = READY.search(log.read_text())
        port = int(found.group(1)) if found else None
        if Path(f"/tmp/.X11-unix/X{display[1:]}").exists():
            window = x11.find_window(display, "Tillsync")
        time.sleep(0.5)
    assert port is not None and window is not None, log.read_text()
    assert _port_open(port)
    return port, window


def _assert_all_stopped(proc: subprocess.Popen, display: str, port: int, log: Path) -> None:
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail(f"run-demo did not stop:\n{log.read_text()}")
    deadline = time.monotonic() + 15
    while _group_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = subprocess.run(["ps", "-o", "pid,cmd", "-g", str(proc.pid)], capture_output=True, text=True).stdout
    if _group_alive(proc.pid):
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail(f"left running after run-demo stopped:\n{left}")
    assert not _port_open(port), "the embedded server still answers"
    assert not Path(f"/tmp/.X11-unix/X{display[1:]}").exists(), "the virtual display is still there"


def test_closing_the_window_stops_the_server_and_the_display(tmp_path):
    proc, display, log = _start(tmp_path)
    try:
        port, window = _wait_running(proc, display, log)
        x11.close_window(display, window)
        _assert_all_stopped(proc, display, port, log)
    finally:
        if _group_alive(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)


def test_sigterm_stops_the_server_and_the_display(tmp_path):
    proc, display, log = _start(tmp_path)
    try:
        port, _window = _wait_running(proc, display, log)
        proc.send_signal(signal.SIGTERM)
        _assert_all_stopped(proc, display, port, log)
    finally:
        if _group_alive(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)
