"""A client written from docs/client-guide.md and the OpenAPI schema alone.

``DocsClient`` below uses nothing of Tillsync: raw HTTP (httpx), ``uuid`` and the
steps and shapes the guide gives (enroll, sign in by staff code at the till, push a sale,
pull it back, snapshot, refresh rotation, errors). The ``tenant`` fixture only stands in
for the admin who set the organization up (its org id, store id, the owner's id and
PIN). The last tests check that the OpenAPI schema and the docs hold what the guide
says they hold.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from app.domain.permissions import PERMISSIONS, Action, Role
from sync.protocol import OpType
from tests.server.support import PINS, Tenant

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "client-guide.md"


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _id() -> str:
    return str(uuid.uuid4())


class DocsClient:
    """A till as the guide describes one: enrolled once, numbering its own operations."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30)
        self.token = ""
        self.device_id = self.device_code = self.store_id = self.org_id = ""
        self.op_seq = 0
        self.orders = 0

    def close(self) -> None:
        self.http.close()

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    # 1. enroll
    def enroll(self, code: str, name: str) -> None:
        r = self.http.post("/terminals/enroll", json={"code": code, "name": name})
        assert r.status_code == 201, r.text
        d = r.json()
        self.token, self.device_id = d["terminal_token"], d["device_id"]
        self.device_code, self.store_id, self.org_id = d["device_code"], d["store_id"], d["org_id"]
        assert self.token.startswith("tt_")

    # 2. sign in at the till by staff code
    def sign_in(self, code: str, pin: str) -> dict[str, Any]:
        r = self.http.post("/auth/login", json={"code": code, "pin": pin}, headers=self.auth)
        assert r.status_code == 200, r.text
        return dict(r.json())

    # 3. push
    def reference(self) -> str:
        """GO- + device code + the till's order counter, base 32, at least 4 characters."""
        self.orders += 1
        alphabet, n, digits = "0123456789ABCDEFGHJKMNPQRSTVWXYZ", self.orders, ""
        while n:
            n, rem = divmod(n, 32)
            digits = alphabet[rem] + digits
        return f"GO-{self.device_code}{digits.rjust(4, '0')}"

    def operation(self, op_type: str, entity_id: str, actor_id: str,
                  payload: dict[str, Any]) -> dict[str, Any]:
        self.op_seq += 1
        return {"op_id": _id(), "op_seq": self.op_seq, "type": op_type,
                "entity_id": entity_id, "actor_id": actor_id, "device_id": self.device_id,
                "created_at": _now(), "base_version": 0, "payload": payload}

    def sale(self, actor_id: str, name: str, unit_price: int, qty_milli: int) -> dict[str, Any]:
        """A cash sale at tax rate 0: gross = net = total, tax 0."""
        order_id = _id()
        total = unit_price * qty_milli // 1000
        payload = {
            "reference": self.reference(), "store_id": self.store_id, "currency": "EUR",
            "tax_inclusive": True,
            "lines": [{"id": _id(), "product_id": None, "name": name, "unit_price": unit_price,
                       "qty_milli": qty_milli, "tax_rate_ppm": 0, "gross": total,
                       "net": total, "tax": 0, "total": total}],
            "subtotal": total, "discount": 0, "tax": 0, "total": total,
            "payments": [{"id": _id(), "order_id": order_id, "method": "cash",
                          "amount": total, "tendered": total, "change": 0,
                          "created_at": _now()}],
            "created_at": _now(),
        }
        return self.operation("order.create", order_id, actor_id, payload)

    def push(self, operations: list[dict[str, Any]]) -> dict[str, Any]:
        r = self.http.post("/sync/push", json={"protocol": 1, "operations": operations},
                           headers=self.auth)
        assert r.status_code == 200, r.text
        return dict(r.json())

    # 4. pull
    def pull_all(self, after: int = 0) -> tuple[list[dict[str, Any]], int]:
        changes: list[dict[str, Any]] = []
        while True:
            r = self.http.get("/sync/pull", params={"after": after, "limit": 200},
                              headers=self.auth)
            assert r.status_code == 200, r.text
            page = r.json()
            changes += page["changes"]
            after = page["cursor"]
            if not page["has_more"]:
                return changes, after

    # 5. snapshot
    def snapshot(self, limit: int) -> tuple[list[dict[str, Any]], int]:
        changes: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": limit}
        while True:
            r = self.http.get("/sync/snapshot", params=params, headers=self.auth)
            assert r.status_code == 200, r.text
            page = r.json()
            changes += page["changes"]
            if not page["has_more"]:
                return changes, page["cursor"]
            params = {"limit": limit, "page_token": page["next_page_token"]}


def _envelope(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == code, err
    assert set(err) == {"code", "message", "request_id", "details"}
    assert err["request_id"] == r.headers["X-Request-ID"]
    return dict(err)


def test_a_client_written_from_the_guide_enrolls_pushes_pulls_and_signs_in(
        tenant: Tenant) -> None:
    admin = httpx.Client(base_url=tenant.server.base_url, timeout=30)
    till = DocsClient(tenant.server.base_url)
    try:
        # the admin signs in by staff id and makes a one-time enrollment code
        r = admin.post("/auth/login", json={"staff_id": tenant.staff[Role.OWNER],
                                             "pin": PINS[Role.OWNER]})
        assert r.status_code == 200, r.text
        owner = {"Authorization": f"Bearer {r.json()['access_token']}"}
        r = admin.post("/terminals/enrollment-codes", json={"store_id": tenant.store_id},
                       headers=owner)
        assert r.status_code == 201, r.text
        code = r.json()["code"]

        till.enroll(code.lower().replace("-", " "), "Docs till")  # case and dashes ignored
        assert (till.store_id, till.org_id) == (tenant.store_id, tenant.org_id)
        _envelope(till.http.post("/terminals/enroll", json={"code": code, "name": "again"}),
                  400, "invalid_enrollment_code")

        # a cashier signs in at the till with the code people type
        staff = admin.get("/staff", headers=owner).json()
        cashier = next(s for s in staff if s["role"] == "cashier")
        signed_in = till.sign_in(cashier["code"], PINS[Role.CASHIER])
        assert signed_in["staff"]["id"] == cashier["id"]
        assert signed_in["token_type"] == "bearer" and signed_in["expires_in"] > 0
        me = till.http.get("/auth/me",
                           headers={"Authorization": f"Bearer {signed_in['access_token']}"})
        assert me.json()["role"] == "cashier"
        _envelope(till.http.post("/auth/login", json={"code": cashier["code"],
                                                      "pin": "000000"}, headers=till.auth),
                  401, "invalid_credentials")
        _envelope(admin.post("/auth/login", json={"code": cashier["code"], "pin": "3333"}),
                  422, "org_required")
        by_org = admin.post("/auth/login", json={"org_id": till.org_id, "code": cashier["code"],
                                                  "pin": PINS[Role.CASHIER]})
        assert by_org.status_code == 200 and by_org.json()["staff"]["id"] == cashier["id"]

        # push a sale; a resend of the very same operation is a duplicate
        sale = till.sale(cashier["id"], "Tea", 250, 2000)
        answer = till.push([sale])
        assert [r["status"] for r in answer["results"]] == ["applied"], answer
        assert answer["last_applied_seq"] == 1 and answer["gap_from"] is None
        again = till.push([sale])
        assert [r["status"] for r in again["results"]] == ["duplicate"], again

        # pull it back
        changes, cursor = till.pull_all()
        orders = [c for c in changes if c["entity_type"] == "order"]
        assert [o["entity_id"] for o in orders] == [sale["entity_id"]]
        order = orders[0]["data"]
        assert order["reference"] == sale["payload"]["reference"]
        assert re.fullmatch(r"GO-[0-9A-HJKMNP-TV-Z]{2}[0-9A-HJKMNP-TV-Z]{4,}", order["reference"])
        assert (order["total"], order["paid"]) == (500, 500)
        assert till.pull_all(cursor)[0] == []

        # a snapshot holds the same order; pulling after its cursor brings nothing new
        snap, snap_cursor = till.snapshot(limit=2)
        assert sale["entity_id"] in {c["entity_id"] for c in snap if c["entity_type"] == "order"}
        assert snap_cursor == cursor and till.pull_all(snap_cursor)[0] == []

        # refresh rotation and reuse detection
        first = signed_in["refresh_token"]
        r = admin.post("/auth/refresh", json={"refresh_token": first})
        assert r.status_code == 200, r.text
        second = r.json()["refresh_token"]
        _envelope(admin.post("/auth/refresh", json={"refresh_token": first}),
                  401, "refresh_token_reused")
        _envelope(admin.post("/auth/refresh", json={"refresh_token": second}),
                  401, "invalid_refresh_token")  # the family was revoked

        # errors: the envelope, with the place of each problem
        err = _envelope(admin.get("/offline-orders", params={"offset": -1}, headers=owner),
                        422, "validation_error")
        assert err["details"][0]["loc"] == ["query", "offset"]
        _envelope(admin.get("/offline-orders"), 401, "unauthorized")
        cashier_token = {"Authorization": f"Bearer {signed_in['access_token']}"}
        denied = _envelope(admin.get("/sync/quarantine", headers=cashier_token), 403,
                           "permission_denied")
        assert denied["details"] == {"role": "cashier", "action": "sync.resolve"}
        _envelope(till.http.get("/sync/pull", headers=cashier_token), 401, "invalid_token")
    finally:
        admin.close()
        till.close()


# ------------------------------------------------------- what the schema and docs hold


def _spec(tenant: Tenant) -> dict[str, Any]:
    with tenant.server.client() as c:
        return dict(c.get("/openapi.json").json())


def test_the_openapi_schema_has_what_the_guide_promises(tenant: Tenant) -> None:
    spec = _spec(tenant)
    schemas = spec["components"]["schemas"]
    schemes = spec["components"]["securitySchemes"]
    assert {k: v["scheme"] for k, v in schemes.items()} == {
        "staffBearer": "bearer", "terminalBearer": "bearer"}

    # every op type's payload is published, and Operation names it per type
    payloads = schemas["Operation"]["x-op-payloads"]
    assert set(payloads) == {t.value for t in OpType}
    for ref in payloads.values():
        assert ref.removeprefix("#/components/schemas/") in schemas
    mapping = schemas["OperationByType"]["discriminator"]["mapping"]
    assert set(mapping) == set(payloads)
    assert schemas["OrderCreate"]["properties"]["lines"]["type"] == "array"

    # no FastAPI default error body: every 4xx/5xx is an envelope
    assert "HTTPValidationError" not in schemas
    envelopes = {"#/components/schemas/ErrorEnvelope",
                 "#/components/schemas/ValidationErrorEnvelope"}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            assert "security" in op, (method, path)
            responses = op["responses"]
            for status, answer in responses.items():
                if int(status) >= 400:
                    schema = answer["content"]["application/json"]["schema"]
                    assert schema["$ref"] in envelopes, (method, path, status)
            if op["security"]:
                assert "401" in responses, (method, path)
            if op.get("parameters") or op.get("requestBody"):
                assert "422" in responses, (method, path)
    ops = spec["paths"]
    assert ops["/sync/push"]["post"]["security"] == [{"terminalBearer": []}]
    assert ops["/offline-orders"]["get"]["security"] == [{"staffBearer": []}]
    assert ops["/terminals/enroll"]["post"]["security"] == []
    assert {"401", "422", "423", "429"} <= set(ops["/auth/login"]["post"]["responses"])
    assert "413" in ops["/offline-orders"]["post"]["responses"]
    assert "403" in ops["/offline-orders/{order_id}"]["delete"]["responses"]
    assert "409" in ops["/offline-orders/{order_id}"]["patch"]["responses"]
    assert "404" in ops["/products/{product_id}"]["get"]["responses"]
    problems = schemas["ValidationErrorEnvelope"]
    assert problems["properties"]["error"]["$ref"].endswith("/ValidationErrorBody")

    description = spec["info"]["description"]
    for words in ("refresh_token_reused", "GO-", "account_locked", "org_id"):
        assert words in description


def _table(text: str) -> dict[str, set[str]]:
    """Action -> roles allowed, from a Markdown table with a ✓ per allowed role."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| action | owner"))
    roles = [c.strip() for c in lines[start].strip("|").split("|")][1:]
    out: dict[str, set[str]] = {}
    for line in lines[start + 2:]:
        if not line.startswith("| `"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        out[cells[0].strip("`")] = {r for r, c in zip(roles, cells[1:], strict=True) if c == "✓"}
    return out


def test_the_permission_tables_of_the_docs_and_the_schema_are_the_server_s(
        tenant: Tenant) -> None:
    want = {a.value: {r.value for r in Role if a in PERMISSIONS[r]} for a in Action}
    assert _table(GUIDE.read_text()) == want
    assert _table(_spec(tenant)["info"]["description"]) == want
