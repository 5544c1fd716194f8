"""Rate limiting: by client address until a credential is trusted, then by identity.

A request whose credential this process can trust without the database -- a validly
signed staff access token, or a terminal token it has verified before -- is limited by
that identity (the staff member; the terminal), wherever it comes from, so one stolen
credential spread over many addresses is limited too. Every other request (none, a
made-up or a not yet verified credential, every sign-in) is limited by its client
address, so a fresh random ``Authorization`` header per request buys nothing. Each is a
token bucket: ``rate`` tokens a second refill up to ``burst``; a request takes one.
(Tills behind one NAT address do not share a bucket once their tokens are verified.)

Where the buckets live:

- SQLite (one server process): in the process (:class:`TokenBucketLimiter`).
- PostgreSQL (any number of workers or hosts on one database): in the database
  (:class:`SharedLimiter`), one row per client in the UNLOGGED ``rate_limit_buckets``
  table holding a GCRA time stamp, updated by one upsert (a prepared statement on the
  process's own asyncio psycopg connection, ~0.2 ms of CPU) that hands out a *lease* of
  up to :data:`LEASE_MAX` tokens. The process spends a lease locally with no database
  trip; a busy client's lease grows (doubling while used up in time), an idle one's
  shrinks back to one token, and a lease expires after :data:`LEASE_TTL_S`. Tokens are
  taken from the shared bucket before they are spent, so all processes together never
  let through more than ``burst + rate * (window + LEASE_TTL_S)`` in any window: the
  only slack over a single bucket is ``rate * LEASE_TTL_S`` requests (25 at the default
  50/s). A refusal is remembered locally until its Retry-After, so a flood costs no
  database trips either. A database error falls back to this process's own bucket.

Environment (read here, not in Settings): ``TILLSYNC_RATE_LIMIT_ADDRESS_PER_SECOND`` and
``TILLSYNC_RATE_LIMIT_ADDRESS_BURST`` (the address buckets; default the per-client
``rate_limit_per_second`` / ``rate_limit_burst``), ``TILLSYNC_RATE_LIMIT_SHARED`` (``auto``: shared on PostgreSQL; ``false``:
per process everywhere).
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

import psycopg
from sqlalchemy import Engine

log = logging.getLogger("tillsync.server.ratelimit")

#: The most tokens one process takes from a shared bucket in one database trip.
LEASE_MAX = 32
#: How long a leased token may wait to be spent (bounds the cross-process slack).
LEASE_TTL_S = 0.5
#: Shared rows whose bucket is full again are deleted every this many database trips.
PRUNE_EVERY = 2000


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class Limiter(Protocol):
    def take(self, key: str) -> float | None:
        """0.0: allowed; > 0: refused, seconds to wait; None: ask :meth:`take_shared`."""

    async def take_shared(self, key: str) -> float:
        """The answer of the shared store."""


class TokenBucketLimiter:
    """``rate`` tokens per second refill up to ``burst``; one request takes one token.

    Per process; the least recently seen clients are forgotten past ``max_clients``
    (a forgotten client starts again with a full bucket)."""

    def __init__(self, rate: float, burst: int, max_clients: int = 100_000) -> None:
        self.rate = rate
        self.burst = burst
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str, cost: int = 1) -> float:
        """0.0 when allowed, else the seconds to wait before the next token."""
        now = time.monotonic()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                while len(self._buckets) >= self.max_clients:
                    self._buckets.popitem(last=False)
                bucket = self._buckets[key] = _Bucket(float(self.burst), now)
            else:
                self._buckets.move_to_end(key)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
            bucket.stamp = now
            if bucket.tokens >= cost:
                bucket.tokens -= cost
                return 0.0
            return (cost - bucket.tokens) / self.rate if self.rate > 0 else math.inf

    async def take_shared(self, key: str) -> float:
        return self.take(key)


@dataclass
class _Lease:
    tokens: int = 0
    size: int = 1
    expires: float = 0.0
    refused_until: float = 0.0


_NOW = "EXTRACT(EPOCH FROM statement_timestamp())::float8"
_AHEAD = f"GREATEST(b.tat, {_NOW}) - {_NOW}"  # how far the bucket is drained, in seconds
_GRANT = f"GREATEST(0, LEAST(%(n)s, FLOOR((%(tau)s - ({_AHEAD})) / %(t)s + 1e-9)))::int"
#: One statement: create or update the client's GCRA row, granting up to n tokens
#: (fewer when the bucket holds fewer); the commit skips the WAL flush (the table is
#: UNLOGGED anyway, and nothing here needs to survive a crash).
TAKE_SQL = f"""
INSERT INTO rate_limit_buckets AS b (key, tat, granted)
SELECT %(key)s, {_NOW} + LEAST(%(n)s, %(burst)s) * %(t)s, LEAST(%(n)s, %(burst)s)
FROM (SELECT set_config('synchronous_commit', 'off', true)) AS _
ON CONFLICT (key) DO UPDATE SET
    granted = {_GRANT},
    tat = GREATEST(b.tat, {_NOW}) + %(t)s * {_GRANT}
RETURNING granted, tat - {_NOW} AS ahead
"""
PRUNE_SQL = f"DELETE FROM rate_limit_buckets WHERE tat < {_NOW} - 60"
RECONNECT_AFTER_S = 5.0


class SharedStore:
    """The ``rate_limit_buckets`` table, through one asyncio psycopg connection of the
    process's event loop (autocommit, the statement prepared once): no thread hop and
    no ORM per trip, ~0.1 ms of CPU. Trips of one process queue on that connection."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self._conn: psycopg.AsyncConnection[tuple[int, float]] | None = None
        self._lock: asyncio.Lock | None = None
        self._down_until = 0.0
        self.trips = 0  # database trips made (for tests and benchmarks)

    @classmethod
    def for_engine(cls, engine: Engine) -> SharedStore:
        url = engine.url.set(drivername="postgresql")
        return cls(url.render_as_string(hide_password=False))

    async def take(self, key: str, n: int, burst: int, t: float) -> tuple[int, float] | None:
        """(tokens granted, seconds the bucket is drained ahead of now); None when the
        database cannot be reached (then retried after :data:`RECONNECT_AFTER_S`)."""
        if time.monotonic() < self._down_until:
            return None
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            try:
                if self._conn is None or self._conn.closed:
                    self._conn = await psycopg.AsyncConnection.connect(
                        self.conninfo, autocommit=True, connect_timeout=5)
                cur = await self._conn.execute(
                    TAKE_SQL, {"key": key, "n": n, "burst": burst, "t": t, "tau": burst * t},
                    prepare=True)
                row = await cur.fetchone()
                self.trips += 1
                if self.trips % PRUNE_EVERY == 0:
                    await self._conn.execute(PRUNE_SQL)
            except (psycopg.Error, OSError):
                log.warning("shared rate limit unavailable; limiting in this process",
                            exc_info=True)
                self._down_until = time.monotonic() + RECONNECT_AFTER_S
                if self._conn is not None:
                    await self._conn.close()
                self._conn = None
                return None
        assert row is not None
        return int(row[0]), float(row[1])


class SharedLimiter:
    """A token bucket per key in PostgreSQL, spent through per-process leases (see the
    module docstring for the bound this keeps across processes)."""

    def __init__(self, store: SharedStore, rate: float, burst: int, prefix: str,
                 max_clients: int = 100_000) -> None:
        self.store = store
        self.rate = rate
        self.burst = burst
        # servers limiting differently on one database keep apart buckets
        self.prefix = f"{prefix}:{rate:g}/{burst}"
        self.max_clients = max_clients
        self.fallback = TokenBucketLimiter(rate, burst, max_clients)
        self._leases: OrderedDict[str, _Lease] = OrderedDict()

    def _lease(self, key: str) -> _Lease:
        lease = self._leases.get(key)
        if lease is None:
            while len(self._leases) >= self.max_clients:
                self._leases.popitem(last=False)
            lease = self._leases[key] = _Lease()
        else:
            self._leases.move_to_end(key)
        return lease

    def take(self, key: str) -> float | None:
        now = time.monotonic()
        lease = self._lease(key)
        if lease.refused_until > now:
            return lease.refused_until - now
        if lease.tokens > 0 and lease.expires > now:
            lease.tokens -= 1
            return 0.0
        return None

    async def take_shared(self, key: str) -> float:
        now = time.monotonic()
        lease = self._lease(key)
        # used up in time: ask for twice as many; expired unused: half as many
        lease.size = (min(LEASE_MAX, lease.size * 2) if lease.tokens == 0
                      and lease.expires > now else max(1, lease.size // 2))
        t = 1.0 / self.rate
        answer = await self.store.take(f"{self.prefix}:{key}"[:100], lease.size, self.burst, t)
        if answer is None:
            return self.fallback.take(key)
        granted, ahead = answer
        now = time.monotonic()
        lease = self._lease(key)
        if granted > 0:  # tokens another request of this process leased meanwhile add up
            lease.tokens = (lease.tokens if lease.expires > now else 0) + granted - 1
            lease.expires = now + LEASE_TTL_S
            return 0.0
        wait = max(0.001, ahead + t - self.burst * t)
        lease.tokens, lease.refused_until = 0, now + wait
        return wait


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw else default


@dataclass
class RequestLimits:
    """The two kinds of bucket of :mod:`server.ratelimit`: by address, by identity."""

    address: Limiter
    identity: Limiter
    shared: bool

    @classmethod
    def build(cls, engine: Engine, rate: float, burst: int, *, postgres: bool,
              local_identity: TokenBucketLimiter | None = None) -> RequestLimits:
        address_rate = _env_float("TILLSYNC_RATE_LIMIT_ADDRESS_PER_SECOND", rate)
        address_burst = int(_env_float("TILLSYNC_RATE_LIMIT_ADDRESS_BURST", burst))
        mode = os.environ.get("TILLSYNC_RATE_LIMIT_SHARED", "auto").strip().lower()
        shared = postgres and mode not in ("0", "false", "no", "off") and rate > 0 \
            and address_rate > 0
        if shared:
            store = SharedStore.for_engine(engine)
            return cls(SharedLimiter(store, address_rate, address_burst, "ip"),
                       SharedLimiter(store, rate, burst, "id"), True)
        return cls(TokenBucketLimiter(address_rate, address_burst),
                   local_identity or TokenBucketLimiter(rate, burst), False)
