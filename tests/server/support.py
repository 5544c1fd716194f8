"""Test helpers: running a real server, a webhook receiver, tenants and operation builders."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import uvicorn
from sqlalchemy import select

from app.domain import approval_proof
from app.domain.ids import new_id, order_reference
from app.domain.permissions import Role
from app.domain.totals import Discount, LineInput, compute
from server.config import Settings
from server.context import AppContext
from server.db.models import Staff as StaffRow
from server.main import create_app
from server.tenancy import service as tenancy

PINS = {Role.OWNER: "111111", Role.ADMIN: "555555", Role.MANAGER: "222222", Role.CASHIER: "3333",
        Role.STOCK: "4444"}
PASSWORD = "correct horse battery"


@dataclass
class RunningServer:
    base_url: str
    ctx: AppContext
    settings: Settings

    def client(self, **kw: Any) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=60, **kw)


@contextlib.contextmanager
def running_server(settings: Settings) -> Iterator[RunningServer]:
    app = create_app(settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # uvicorn sets TCP_NODELAY only then
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # The plain asyncio loop: uvloop must not become the policy of a process that also runs Qt tests.
    config = uvicorn.Config(app, log_level="warning", lifespan="on", limit_concurrency=500, loop="asyncio")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("server did not start")
        time.sleep(0.02)
    try:
        yield RunningServer(f"http://127.0.0.1:{port}", app.state.ctx, settings)
    finally:
        srv.should_exit = True
        thread.join(15)
        sock.close()


class Receiver:
    """A real HTTP server on 127.0.0.1 recording webhook POSTs (optionally failing first)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.fail_next = 0
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with outer.lock:
                    if outer.fail_next > 0:
                        outer.fail_next -= 1
                        self.send_response(500)
                        self.end_headers()
                        return
                    outer.requests.append({"headers": dict(self.headers), "body": body})
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()

    def events_of(self, org_id: str) -> list[dict[str, Any]]:
        with self.lock:
            reqs = list(self.requests)
        return [r for r in reqs if json.loads(r["body"]).get("org_id") == org_id]


@dataclass
class Terminal:
    server: RunningServer
    device_id: str
    device_code: str
    store_id: str
    org_id: str
    token: str
    seq: int = 0
    orders: int = 0
    #: staff id -> approval key (argon2id of their PIN and salt), shared with the Tenant:
    #: push() proves the privileged ops of these approvers as a real till would.
    keys: dict[str, bytes] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def op(self, op_type: str, entity_id: str, actor_id: str, payload: dict[str, Any],
           base_version: int = 0) -> dict[str, Any]:
        self.seq += 1
        return {
            "op_id": new_id(), "op_seq": self.seq, "type": op_type, "entity_id": entity_id,
            "actor_id": actor_id, "device_id": self.device_id,
            "created_at": datetime.now(UTC).isoformat(), "base_version": base_version,
            "payload": payload,
        }

    def prove(self, op: dict[str, Any]) -> dict[str, Any]:
        """``op`` with its approver's proof when it is privileged and the approver's key
        is known; an op that has an ``approval_proof`` key (even None) is left as it is."""
        approver = approval_proof.approver_of(op["type"], op["payload"], op["actor_id"])
        if "approval_proof" in op or approver not in self.keys:
            return op
        message = approval_proof.canonical_bytes(
            op_type=op["type"], entity_id=op["entity_id"], device_id=op["device_id"],
            op_id=op["op_id"], actor_id=op["actor_id"], payload=op["payload"])
        return op | {"approval_proof": approval_proof.make_proof(
            self.keys[approver], approver, message)}

    def push(self, ops: list[dict[str, Any]], client: httpx.Client | None = None) -> dict[str, Any]:
        ops = [self.prove(op) if isinstance(op, dict) and isinstance(op.get("payload"), dict)
               and isinstance(op.get("type"), str) else op for op in ops]
        with contextlib.ExitStack() as stack:
            c = client or stack.enter_context(self.server.client())
            r = c.post("/sync/push", json={"operations": ops}, headers=self.headers)
            assert r.status_code == 200, r.text
            return r.json()

    def pull_all(self, after: int = 0) -> tuple[list[dict[str, Any]], int]:
        changes: list[dict[str, Any]] = []
        with self.server.client() as c:
            while True:
                r = c.get("/sync/pull", params={"after": after, "limit": 50}, headers=self.headers)
                assert r.status_code == 200, r.text
                page = r.json()
                changes += page["changes"]
                after = page["cursor"]
                if not page["has_more"]:
                    return changes, after

    def order_create(self, actor_id: str, *, lines: list[dict[str, Any]] | None = None,
                     pay: bool = False, order_id: str | None = None) -> dict[str, Any]:
        self.orders += 1
        lines = lines or [line(None, 250, 2000)]
        totals = compute([LineInput(li["unit_price"], li["qty_milli"], li["tax_rate_ppm"],
                                    Discount()) for li in lines], inclusive=True)
        oid = order_id or new_id()
        payments = []
        if pay:
            payments = [{"id": new_id(), "order_id": oid, "method": "cash",
                         "amount": totals.total, "tendered": totals.total, "change": 0,
                         "created_at": datetime.now(UTC).isoformat()}]
        payload = {
            "reference": order_reference(self.device_code, self.orders),
            "store_id": self.store_id, "currency": "EUR", "tax_inclusive": True,
            "lines": lines, "subtotal": totals.subtotal, "discount": totals.discount,
            "tax": totals.tax, "total": totals.total, "payments": payments,
            "created_at": datetime.now(UTC).isoformat(),
        }
        return self.op("order.create", oid, actor_id, payload)


def line(product_id: str | None, unit_price: int, qty_milli: int = 1000,
         tax_rate_ppm: int = 200_000) -> dict[str, Any]:
    t = compute([LineInput(unit_price, qty_milli, tax_rate_ppm)], inclusive=True).lines[0]
    return {"id": new_id(), "product_id": product_id, "sku": None, "name": "Item",
            "unit_price": unit_price, "qty_milli": qty_milli, "tax_rate_ppm": tax_rate_ppm,
            "gross": t.gross, "net": t.net, "tax": t.tax, "total": t.total}


@dataclass
class Tenant:
    server: RunningServer
    org_id: str
    store_id: str
    staff: dict[Role, str]
    terminals: list[Terminal] = field(default_factory=list)
    keys: dict[str, bytes] = field(default_factory=dict)  # approval keys, by staff id

    def learn_key(self, staff_id: str, pin: str) -> bytes:
        """The approval key of ``staff_id`` for ``pin``, with the salt the server holds
        (as a till derives it from the staff feed), kept for this tenant's tills."""
        with self.server.ctx.reader() as s:
            salt = s.scalar(select(StaffRow.approval_salt).where(StaffRow.id == staff_id))
        assert salt, "the server holds no approval salt for this staff member"
        self.keys[staff_id] = approval_proof.derive_key(pin, salt)
        return self.keys[staff_id]

    @property
    def term(self) -> Terminal:
        return self.terminals[0]

    def login(self, role: Role) -> dict[str, str]:
        with self.server.client() as c:
            r = c.post("/auth/login", json={"staff_id": self.staff[role], "pin": PINS[role]})
            assert r.status_code == 200, r.text
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def seen_at(self, *roles: Role, term: Terminal | None = None) -> None:
        """Each of ``roles`` signs in at ``term`` (the first till by default) carrying its
        token, as a till does: the person is then seen working at that till's store, the
        store scope of their back office and figures (server/tenancy/scope.py)."""
        term = term or self.term
        with self.server.client() as c:
            for role in roles:
                r = c.post("/auth/login", json={"staff_id": self.staff[role], "pin": PINS[role]},
                           headers=term.headers)
                assert r.status_code == 200, r.text

    def add_store(self, name: str = "Second store") -> str:
        with self.server.ctx.writer.begin() as s:
            return tenancy.create_store(s, self.org_id, name).id

    def enroll(self, store_id: str | None = None, name: str = "Till",
               max_role: Role = Role.OWNER) -> Terminal:
        """A new till of the store; its role ceiling is owner unless a test says otherwise."""
        with self.server.ctx.writer.begin() as s:
            code, _ = tenancy.create_enrollment_code(s, self.org_id, store_id or self.store_id, 600,
                                                     max_role=max_role)
        with self.server.client() as c:
            r = c.post("/terminals/enroll", json={"code": code, "name": name})
            assert r.status_code == 201, r.text
            d = r.json()
        term = Terminal(self.server, d["device_id"], d["device_code"], d["store_id"],
                        d["org_id"], d["terminal_token"], keys=self.keys)
        self.terminals.append(term)
        return term


@contextlib.contextmanager
def make_tenant(server: RunningServer) -> Iterator[Tenant]:
    ctx = server.ctx
    with ctx.writer.begin() as s:
        org = tenancy.create_org(s, "Org " + new_id()[-6:])
        store = tenancy.create_store(s, org.id, "Main street")
        staff = {
            role: tenancy.create_staff(s, ctx.hasher, org.id, f"{role.value} person", role,
                                       pin=PINS[role], password=PASSWORD).id
            for role in Role
        }
        org_id, store_id = org.id, store.id
    t = Tenant(server, org_id, store_id, staff)
    for role, staff_id in staff.items():
        t.learn_key(staff_id, PINS[role])
    t.enroll()
    yield t
