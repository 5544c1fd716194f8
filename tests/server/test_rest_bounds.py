"""REST input bounds: values past app/domain/limits.py answer 422 with the error envelope,
never 500 (SQLite and PostgreSQL), and the bounds are published in the OpenAPI schema."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.domain.ids import new_id
from app.domain.limits import MAX_AMOUNT, MAX_OFFSET, MAX_PAGE
from app.domain.permissions import Role
from tests.server.support import Tenant

LISTS = ["/products", "/offline-orders", "/conflicts", "/approvals", "/sync/quarantine"]


def _is_validation_envelope(r: httpx.Response, *codes: str) -> None:
    assert r.status_code == 422, (r.status_code, r.text)
    err = r.json()["error"]
    assert err["code"] in (codes or ("validation_error",))
    assert set(err) == {"code", "message", "request_id", "details"}


@pytest.mark.parametrize("path", LISTS)
def test_offset_past_64_bits_is_422(tenant: Tenant, path: str) -> None:
    owner = tenant.login(Role.OWNER)
    with tenant.server.client() as c:
        _is_validation_envelope(c.get(path, params={"offset": 2**63}, headers=owner))
        _is_validation_envelope(c.get(path, params={"offset": MAX_OFFSET + 1}, headers=owner))
        _is_validation_envelope(c.get(path, params={"limit": MAX_PAGE + 1}, headers=owner))
        r = c.get(path, params={"offset": MAX_OFFSET, "limit": 500}, headers=owner)
        assert r.status_code == 200, r.text


def _product(**over: Any) -> dict[str, Any]:
    return {"sku": "SKU-" + new_id()[-8:], "name": "Tea", "price": 250,
            "tax_rate_ppm": 200_000} | over


@pytest.mark.parametrize("over", [
    {"price": 10**30}, {"price": MAX_AMOUNT + 1}, {"price": 2**63},
    {"reorder_level_milli": 10**30}, {"tax_rate_ppm": 2**63},
    {"name": "N" * 301}, {"sku": "S" * 65}, {"category": "C" * 201},
    {"barcodes": ["4" * 65]},
], ids=lambda o: next(iter(o)) + "=" + str(next(iter(o.values())))[:8])
def test_product_values_past_their_range_are_422(tenant: Tenant, over: dict[str, Any]) -> None:
    with tenant.server.client() as c:
        r = c.post("/products", json=_product(**over), headers=tenant.login(Role.MANAGER))
        # the product rules answer in the till's words (invalid_value); what they do not
        # judge (a price past any column) the schema refuses (validation_error)
        _is_validation_envelope(r, "validation_error", "invalid_value")


def _pushed_order(tenant: Tenant) -> str:
    """An order of the first store, whose till the manager works on."""
    term = tenant.term
    tenant.seen_at(Role.MANAGER)  # works at the store's till
    op = term.order_create(tenant.staff[Role.CASHIER])
    res = term.push([op])
    assert res["results"][0]["status"] == "applied", res
    return str(op["entity_id"])


@pytest.mark.parametrize("over", [
    {"amount": 10**30}, {"amount": MAX_AMOUNT + 1}, {"tendered": 10**30}, {"change": 2**63},
    {"installment_id": "i" * 37},
], ids=lambda o: next(iter(o)))
def test_payment_values_past_their_range_are_422(tenant: Tenant, over: dict[str, Any]) -> None:
    order_id = _pushed_order(tenant)
    body = {"id": new_id(), "method": "cash", "amount": 100} | over
    with tenant.server.client() as c:
        r = c.post(f"/offline-orders/{order_id}/payments", json=body,
                   headers=tenant.login(Role.MANAGER))
        _is_validation_envelope(r)
        paid = c.get(f"/offline-orders/{order_id}", headers=tenant.login(Role.MANAGER))
        assert paid.json()["order"]["paid"] == 0


def test_refund_amount_past_its_range_is_422(tenant: Tenant) -> None:
    order_id = _pushed_order(tenant)
    body = {"refund_id": new_id(), "amount": 10**30, "reason": "broken"}
    with tenant.server.client() as c:
        r = c.post(f"/offline-orders/{order_id}/refunds", json=body,
                   headers=tenant.login(Role.MANAGER))
        _is_validation_envelope(r)


def test_enrollment_code_for_a_store_id_longer_than_an_id_is_422(tenant: Tenant) -> None:
    with tenant.server.client() as c:
        r = c.post("/terminals/enrollment-codes", json={"store_id": "s" * 5000},
                   headers=tenant.login(Role.OWNER))
        _is_validation_envelope(r)


def test_an_order_note_past_its_column_is_422(tenant: Tenant) -> None:
    order_id = _pushed_order(tenant)
    with tenant.server.client() as c:
        r = c.patch(f"/offline-orders/{order_id}", headers=tenant.login(Role.MANAGER),
                    json={"fields": {"note": {"base": None, "value": "N" * 5000}}})
        assert r.status_code == 422, (r.status_code, r.text[:200])


def test_long_path_ids_are_422_not_500(tenant: Tenant) -> None:
    manager = tenant.login(Role.MANAGER)
    with tenant.server.client() as c:
        for path in (f"/products/{'p' * 5000}", f"/offline-orders/{'o' * 5000}"):
            _is_validation_envelope(c.get(path, headers=manager))


def test_bounds_are_published_in_openapi(tenant: Tenant) -> None:
    with tenant.server.client() as c:
        spec = c.get("/openapi.json").json()
    params = {p["name"]: p["schema"] for p in spec["paths"]["/products"]["get"]["parameters"]}
    assert params["offset"]["maximum"] == MAX_OFFSET
    assert params["limit"]["maximum"] == MAX_PAGE
    body = spec["components"]["schemas"]["PaymentIn"]["properties"]
    assert body["amount"]["maximum"] == MAX_AMOUNT
    product = spec["components"]["schemas"]["ProductCreateIn"]["properties"]
    assert product["price"]["maximum"] == MAX_AMOUNT
    assert product["name"]["maxLength"] <= 300


def test_a_write_the_database_kept_rolling_back_is_503_with_retry_after() -> None:
    """A deadlock or lock timeout that outlived the retries: nothing was written, so the
    answer says to resend (503 unavailable, Retry-After), not 500; a lost connection,
    where the commit may have happened, stays 500."""
    import asyncio
    import json

    from fastapi import FastAPI, Request
    from sqlalchemy.exc import OperationalError

    from server.errors import install_error_handlers

    class Deadlock(Exception):
        sqlstate = "40P01"

    app = FastAPI()
    install_error_handlers(app)
    handler = app.exception_handlers[OperationalError]
    request = Request({"type": "http", "method": "POST", "path": "/", "headers": []})

    busy = asyncio.run(handler(request, OperationalError("UPDATE", {}, Deadlock("deadlock"))))
    assert busy.status_code == 503
    assert json.loads(bytes(busy.body))["error"]["code"] == "unavailable"
    assert busy.headers["Retry-After"] == "1"
    lost = asyncio.run(handler(request, OperationalError("COMMIT", {}, Exception("closed"))))
    assert lost.status_code == 500
    assert json.loads(bytes(lost.body))["error"]["code"] == "internal_error"
