"""The peer's side of ``python -m benchmarks.peer``: PouchDB 9 and pouchdb-server 4.2 from npm.

The packages are installed by ``npm ci`` from benchmarks/peer_js/package-lock.json into
benchmarks/peer_js/node_modules (gitignored), the folder this benchmark owns. The server
is ``pouchdb-server`` (express-pouchdb over LevelDB on disk, in a temporary folder),
bound to 127.0.0.1; the client is benchmarks/peer_js/driver.js, one Node process per
replication, which times ``PouchDB.replicate`` itself (Node's start is not counted).

Durability, said where it is printed: LevelDB (leveldown) writes without fsync unless a
write asks for ``sync``, and PouchDB never asks: a PouchDB write that returned may be
lost on a power cut. Tillsync's SQLite runs ``synchronous=FULL`` on the terminal and
the server (every commit fsynced).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

JS_DIR = Path(__file__).parent / "peer_js"
DRIVER = JS_DIR / "driver.js"
SERVER_BIN = JS_DIR / "node_modules" / "pouchdb-server" / "bin" / "pouchdb-server"
PACKAGES = "pouchdb-node 9.0.0 and pouchdb-server 4.2.0"


class Skip(RuntimeError):
    """The peer cannot run here (no node or npm, or the install failed): the message says why."""


def tools_missing() -> str | None:
    """Why the peer cannot run on this machine (node or npm missing), or None."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        return f"{' and '.join(missing)} not found on PATH (install Node.js 18+ with npm)"
    return None


def install(quiet: bool = False) -> None:
    """``npm ci`` into benchmarks/peer_js/node_modules unless it is already there."""
    stamp = JS_DIR / "node_modules" / ".package-lock.json"
    lock = JS_DIR / "package-lock.json"
    if SERVER_BIN.exists() and stamp.exists() and stamp.stat().st_mtime >= lock.stat().st_mtime:
        if not quiet:
            print(f"peer: {PACKAGES} already installed in {JS_DIR / 'node_modules'}")
        return
    print(f"peer: installing {PACKAGES} from npm into {JS_DIR / 'node_modules'} "
          "(npm ci, once; about a minute)", flush=True)
    proc = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                          cwd=JS_DIR, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0 or not SERVER_BIN.exists():
        raise Skip(f"npm ci failed in {JS_DIR}: {(proc.stderr or proc.stdout)[-1500:]}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` has used; 0 without /proc."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class PouchServer:
    base: str
    pid: int


@contextmanager
def pouchdb_server(workdir: Path) -> Iterator[PouchServer]:
    """pouchdb-server on 127.0.0.1 with LevelDB under ``workdir``; logs at 'warning' only
    (its default, 'info', writes a line per request, which CouchDB users turn down too)."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "db").mkdir(exist_ok=True)
    config = workdir / "config.json"
    config.write_text(json.dumps({"log": {"file": str(workdir / "log.txt"), "level": "warning"}}))
    port = _free_port()
    proc = subprocess.Popen(
        ["node", str(SERVER_BIN), "--host", "127.0.0.1", "--port", str(port),
         "--dir", str(workdir / "db"), "--config", str(config), "--no-stdout-logs",
         "--no-color"],
        cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                err = proc.stderr.read().decode()[-2000:] if proc.stderr else ""
                raise RuntimeError(f"pouchdb-server exited: {err}")
            try:
                if httpx.get(base + "/", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("pouchdb-server did not start in 60 s")
            time.sleep(0.2)
        yield PouchServer(base, proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def load_remote(server: PouchServer, db: str, docs: list[dict[str, Any]]) -> None:
    """Create ``db`` on the server and write ``docs`` into it with _bulk_docs (setup)."""
    with httpx.Client(base_url=server.base, timeout=300) as c:
        c.put(f"/{db}").raise_for_status()
        for i in range(0, len(docs), 1000):
            r = c.post(f"/{db}/_bulk_docs", json={"docs": docs[i:i + 1000]})
            r.raise_for_status()
            bad = [x for x in r.json() if "error" in x]
            if bad:
                raise RuntimeError(f"pouchdb-server refused a document: {bad[0]}")
        count = c.get(f"/{db}").json()["doc_count"]
    if count != len(docs):
        raise RuntimeError(f"pouchdb-server holds {count} documents, {len(docs)} written")


def _drive(*args: str) -> dict[str, Any]:
    proc = subprocess.run(["node", str(DRIVER), *args], cwd=JS_DIR, capture_output=True,
                          text=True, timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(f"driver.js {args[0]} failed: {proc.stderr[-2000:]}")
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def replicate_from(server: PouchServer, db: str, local_dir: Path, batch_size: int,
                   batches_limit: int) -> dict[str, Any]:
    """``replicate.from`` the server's ``db`` into a new local PouchDB; timed in Node."""
    cpu0 = process_cpu(server.pid)
    out = _drive("pull", f"{server.base}/{db}", str(local_dir), str(batch_size),
                 str(batches_limit))
    out["server_cpu_s"] = process_cpu(server.pid) - cpu0
    shutil.rmtree(local_dir, ignore_errors=True)
    return out


def replicate_to(server: PouchServer, docs_file: Path, local_dir: Path, db: str,
                 batch_size: int, batches_limit: int) -> dict[str, Any]:
    """A new local PouchDB holding the sales (written first, not timed), ``replicate.to``
    a new database ``db`` on the server; timed in Node."""
    httpx.put(f"{server.base}/{db}", timeout=60).raise_for_status()
    cpu0 = process_cpu(server.pid)
    out = _drive("push", str(docs_file), str(local_dir), f"{server.base}/{db}",
                 str(batch_size), str(batches_limit))
    out["server_cpu_s"] = process_cpu(server.pid) - cpu0  # includes nothing untimed:
    # the local writes happen in the driver, not on the server
    shutil.rmtree(local_dir, ignore_errors=True)
    return out
