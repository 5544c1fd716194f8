"""The demo's embedded central server: a real ``tillsync-server`` in a child process.

The desktop never imports the server (layering): it starts it as a subprocess on
127.0.0.1, seeded once with the demo organization, and talks to it over HTTP like
any terminal would. Its SQLite database lives beside the terminal's data.
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import httpx

log = logging.getLogger(__name__)


class EmbeddedServerError(RuntimeError):
    """The embedded server could not be seeded or started; the message says why."""


def free_port(preferred: int | None = None) -> int:
    """``preferred`` if it can be bound on 127.0.0.1, else any free port."""
    for port in ((preferred, 0) if preferred else (0,)):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise EmbeddedServerError("no free port on 127.0.0.1")


class EmbeddedServer:
    def __init__(self, data_dir: Path, products: int = 2000) -> None:
        self.dir = Path(data_dir) / "embedded-server"
        self.db_url = f"sqlite:///{self.dir / 'server.sqlite'}"
        self.code_file = self.dir / "enrollment-code.txt"
        self.port_file = self.dir / "port"  # the same port each start keeps the enrolled URL valid
        self.seeded_file = self.dir / "seeded"
        self.products = products
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self.url: str | None = None

    def _run(self, *args: str) -> None:
        cmd = [sys.executable, "-m", "server.cli", *args, "--db", self.db_url]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=self._env())
        if done.returncode != 0:
            raise EmbeddedServerError(f"{' '.join(args)} failed: {done.stderr.strip()[-500:]}")

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.setdefault("TILLSYNC_SERVER_DATA_DIR", str(self.dir))
        return env

    def seed_once(self) -> None:
        """Seed the demo organization the first time; later starts reuse it."""
        self.dir.mkdir(parents=True, exist_ok=True)
        if self.seeded_file.exists():
            return
        for leftover in self.dir.glob("server.sqlite*"):  # a seed that did not finish
            leftover.unlink()
        self._run("demo", "--products", str(self.products), "--code-file", str(self.code_file))
        self.seeded_file.write_text(f"{self.products}\n")

    def enrollment_code(self) -> str | None:
        return self.code_file.read_text().strip() if self.code_file.exists() else None

    def start(self, timeout_s: float = 30.0) -> str:
        """Start serving on a free loopback port; returns the base URL once ready."""
        self.seed_once()
        saved = self.port_file.read_text().strip() if self.port_file.exists() else ""
        port = free_port(int(saved) if saved.isdigit() else None)
        self.port_file.write_text(f"{port}\n")
        self._log = open(self.dir / "server.log", "ab")  # noqa: SIM115 (lives as long as the child)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--db", self.db_url,
             "--host", "127.0.0.1", "--port", str(port)],
            stdout=self._log, stderr=subprocess.STDOUT, env=self._env(),
        )
        atexit.register(self.stop)  # never leave the child behind, even on a crash
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EmbeddedServerError(f"the server exited; see {self.dir / 'server.log'}")
            try:
                if httpx.get(f"{self.url}/health/ready", timeout=1.0).status_code == 200:
                    log.info("embedded server ready at %s", self.url)
                    return self.url
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise EmbeddedServerError(f"the server did not become ready in {timeout_s:.0f} s")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None
