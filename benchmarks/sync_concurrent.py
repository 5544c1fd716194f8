"""100 terminals pushing at once, each over its own keep-alive connection.

Three runs with the same tills and pacing (10 requests each, a 50-150 ms pause before
each): ``GET /health/live`` (HTTP only), a push of no operations (HTTP, the terminal's
token, the endpoint) and a push of one sale. The first two are same-run baselines:
they show what HTTP, the client and the (shared) machine cost by themselves.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from contextlib import suppress

from benchmarks.sync_bench import Result, Till, pct, sale_op, server_cpu


class RawHTTP:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams, one connection per till.

    httpx costs ~3 ms of client CPU per request (and a shared pool with 100 connections
    far more), which on a 2-CPU machine is taken from the server being measured; a real
    till is its own machine. This client does only what the benchmark needs."""

    def __init__(self, base: str) -> None:
        host_port = base.split("://", 1)[1]
        self.host, port = host_port.split(":")
        self.port = int(port)
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes | None = None,
                      headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        for k, v in (headers or {}).items():
            lines.append(f"{k}: {v}")
        if body is not None:
            lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b""))
        await self.writer.drain()
        assert self.reader is not None
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        length = 0
        chunked = False
        for h in header_lines:
            name, _, value = h.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value.strip())
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
        if chunked:
            data = b""
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                data += chunk[:-2]
            return status, data
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with suppress(OSError):
                await self.writer.wait_closed()


async def _till_loop(c: RawHTTP, till: Till, rounds: int, start: asyncio.Event,
                     lat: list[float], errs: list[str], seed_: int, kind: str) -> None:
    """One till: ``rounds`` requests with a 50-150 ms pause before each.

    ``kind``: ``push`` (one sale), ``empty`` (a push of no operations: HTTP, auth and the
    endpoint, no write) or ``health`` (``GET /health/live``: HTTP only)."""
    rng = random.Random(seed_)
    bodies = ([json.dumps({"operations": [sale_op(till, rng)]}).encode() for _ in range(rounds)]
              if kind == "push" else [b'{"operations": []}'] * rounds)
    await c.request("GET", "/health/live")  # connect before the clock starts
    await start.wait()
    for body in bodies:
        await asyncio.sleep(rng.uniform(0.05, 0.15))
        t0 = time.perf_counter()
        try:
            if kind == "health":
                status, data = await c.request("GET", "/health/live")
                ok = status == 200
            else:
                status, data = await c.request("POST", "/sync/push", body, till.headers)
                ok = status == 200 and (
                    kind == "empty" or json.loads(data)["results"][0]["status"] == "applied")
            if not ok:
                errs.append(f"{status} {data[:200]!r}")
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            errs.append(repr(exc))
        lat.append(time.perf_counter() - t0)


async def _concurrent(base: str, tills: list[Till], rounds: int, kind: str
                      ) -> tuple[list[float], list[str], float]:
    lat: list[float] = []
    errs: list[str] = []
    start = asyncio.Event()
    clients = [RawHTTP(base) for _ in tills]  # one connection per till, as in a shop
    try:
        tasks = [asyncio.create_task(_till_loop(c, t, rounds, start, lat, errs, i, kind))
                 for i, (c, t) in enumerate(zip(clients, tills, strict=True))]
        await asyncio.sleep(0.5)
        t0 = time.perf_counter()
        start.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 600)
        return lat, errs, time.perf_counter() - t0
    finally:
        for c in clients:
            await c.close()


def bench_concurrent(base: str, tills: list[Till], rounds: int) -> list[Result]:
    """The same 100 tills, same pacing: /health/live, an empty push, then one sale per push.

    The two baselines, measured in the same run, show what HTTP, the client and the
    (shared) machine cost by themselves; the sale's p95 over the empty push's p95 is the
    sync work's own share."""
    out: list[Result] = []
    base_p95: dict[str, float] = {}
    for kind in ("health", "empty", "push"):
        load = os.getloadavg()[0]
        cpu0 = server_cpu(base)
        lat, errs, total = asyncio.run(_concurrent(base, tills, rounds, kind))
        cpu = server_cpu(base) - cpu0
        p95 = pct(lat, 95)
        base_p95[kind] = p95
        name = {"health": "  baseline: GET /health/live", "empty": "  baseline: empty push",
                "push": f"{len(tills)} terminals pushing at once"}[kind]
        res = Result(name, len(lat), pct(lat, 50), p95, pct(lat, 99), total,
                     f"{len(lat) / total:,.0f} req/s",
                     "p95 < 100 ms, 0 errors" if kind == "push" else "",
                     (p95 < 100 and not errs) if kind == "push" else None)
        what = {"health": "no auth, no database", "empty": "auth + endpoint, no operations",
                "push": "1 sale per request"}[kind]
        res.notes.append(f"{what}, {rounds} per terminal; errors {len(errs)}"
                         + (f" (first: {errs[0]})" if errs else "")
                         + f"; server CPU {cpu / max(1, len(lat)) * 1000:.2f} ms/request"
                         + f"; load avg {load:.1f}")
        if kind == "push":
            res.notes.append(
                f"p95 / empty-push p95 = {p95 / base_p95['empty']:.1f}x; "
                f"p95 / health p95 = {p95 / base_p95['health']:.1f}x")
        out.append(res)
    return out


