"""Screenshots of the operator dashboard (deploy/grafana/tillsync.json) fed by real load.

    QT_QPA_PLATFORM=offscreen python scripts/dashboard_screenshots.py [--minutes 4]

Grafana itself cannot run here (it is in neither Debian nor PyPI), so this draws the
dashboard's own panels, by their grid positions, titles and PromQL queries, from a real
Prometheus (Debian's ``prometheus``) that scraped a real server (its own process, SQLite)
every 2 s while 100 tills pushed sales over their own connections (the pushes of
benchmarks/sync_concurrent.py), one in ten of them now and then with an operation the
server rejects (quarantined), and with webhook deliveries failing (the receiver is a closed port).
The pictures are the dashboard's data and layout, not Grafana's look. Output:
docs/screenshots/ops-dashboard-<row>.png, one per dashboard row (docs/operations.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.sync_bench import (  # noqa: E402
    _free_port,
    database,
    enroll,
    more_codes,
    sale_op,
    seed,
    server_process,
)
from benchmarks.sync_concurrent import RawHTTP  # noqa: E402
from scripts.dashboard_render import render_rows  # noqa: E402

DASHBOARD = ROOT / "deploy" / "grafana" / "tillsync.json"
OUT = ROOT / "docs" / "screenshots"
STEP_S = 5


def _prometheus(target: str, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    config = workdir / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 2s\n  evaluation_interval: 2s\n"
        "scrape_configs:\n  - job_name: tillsync\n"
        f"    static_configs:\n      - targets: ['{target}']\n")
    proc = subprocess.Popen(
        ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={workdir / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(base + "/-/ready", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError("prometheus did not start")
        time.sleep(0.2)


def _rejected_op(till: Any, rng: random.Random) -> dict[str, Any]:
    """A sale carrying another till's device id: the server rejects (quarantines) it."""
    return sale_op(till, rng) | {"device_id": "01000000-0000-7000-8000-000000000000"}


async def _till(c: RawHTTP, till: Any, until: float, rng: random.Random, bad: bool) -> int:
    sent = 0
    while time.monotonic() < until:
        await asyncio.sleep(rng.uniform(0.3, 1.5))
        ops = [_rejected_op(till, rng) if bad and rng.random() < 0.05 else sale_op(till, rng)]
        body = json.dumps({"operations": ops, "oldest_pending_age_s": rng.uniform(0, 20)})
        status, _ = await c.request("POST", "/sync/push", body.encode(),
                                    {**till.headers, "Content-Type": "application/json"})
        sent += status == 200
        if rng.random() < 0.2:
            await c.request("GET", "/sync/pull?after=0&limit=50", None, till.headers)
    return sent


async def _load(base: str, tills: list[Any], seconds: float) -> int:
    until = time.monotonic() + seconds
    clients = [RawHTTP(base) for _ in tills]
    try:
        done = await asyncio.gather(*[
            _till(c, t, until, random.Random(i), bad=i % 10 == 0)
            for i, (c, t) in enumerate(zip(clients, tills, strict=True))])
    finally:
        for c in clients:
            await c.close()
    return sum(done)


def query_panels(prom: str, start: float, end: float) -> dict[int, list[list[dict[str, Any]]]]:
    """Each panel's targets' range query results (job=tillsync), by panel id."""
    dashboard = json.loads(DASHBOARD.read_text())
    out: dict[int, list[list[dict[str, Any]]]] = {}
    with httpx.Client(base_url=prom, timeout=60) as c:
        for panel in dashboard["panels"]:
            results = []
            for target in panel.get("targets", []):
                expr = target["expr"].replace("$job", "tillsync")
                r = c.get("/api/v1/query_range", params={
                    "query": expr, "start": start, "end": end, "step": STEP_S})
                r.raise_for_status()
                results.append(r.json()["data"]["result"])
            out[panel["id"]] = results
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--minutes", type=float, default=4)
    ap.add_argument("--terminals", type=int, default=100)
    ap.add_argument("--data", default=str(Path(tempfile.gettempdir()) / "tillsync-dash.json"),
                    help="where the query results are kept (--redraw reads them)")
    ap.add_argument("--redraw", action="store_true", help="draw from --data, no load run")
    args = ap.parse_args(argv)
    if args.redraw:
        kept = json.loads(Path(args.data).read_text())
        panels = {int(k): v for k, v in kept["panels"].items()}
        for name in render_rows(json.loads(DASHBOARD.read_text()), panels, OUT,
                                tuple(kept["span"])):
            print("wrote", name)
        return 0
    if shutil.which("prometheus") is None:
        print("prometheus not found (Debian's prometheus package)", file=sys.stderr)
        return 1
    workdir = Path(tempfile.mkdtemp(prefix="tillsync-dash-"))
    os.environ.update({"TILLSYNC_PUBLIC_METRICS": "true",
                       "TILLSYNC_WEBHOOK_URLS": "http://127.0.0.1:9/closed",
                       "TILLSYNC_WEBHOOK_SECRET": "screenshots-webhook-secret",
                       "TILLSYNC_WEBHOOK_BACKOFF_BASE_S": "1",
                       "TILLSYNC_WEBHOOK_BACKOFF_MAX_S": "5"})
    try:
        with database(False, str(workdir)) as url:
            stores = max(1, args.terminals // 4)
            codes, _org, cashier = seed(url, stores, 2000)
            with server_process(url) as base:
                extra = more_codes(url, [sid for sid, _ in codes], 4)
                tills = [enroll(base, code, cashier, f"Till {i}")
                         for i, code in enumerate(extra[:args.terminals])]
                prom_proc, prom = _prometheus(base.split("://", 1)[1], workdir)
                try:
                    start = time.time()
                    sent = asyncio.run(_load(base, tills, args.minutes * 60))
                    time.sleep(6)  # the last scrapes
                    end = time.time()
                    print(f"{sent} pushes from {len(tills)} tills in {end - start:.0f} s; "
                          f"load average {os.getloadavg()}")
                    data = query_panels(prom, start, end)
                    Path(args.data).write_text(json.dumps(
                        {"span": [start, end], "panels": data}))  # to draw again
                finally:
                    prom_proc.terminate()
                    prom_proc.wait(10)
        dashboard = json.loads(DASHBOARD.read_text())
        for name in render_rows(dashboard, data, OUT, (start, end)):
            print("wrote", name)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
