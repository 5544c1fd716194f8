"""The back office's POST/PATCH /products answer a value the shared product rules refuse
with 422 invalid_value in the error envelope, with the message a pushed op's rejection
carries (test_product_rules_server.py), and nothing is written; OpenAPI lists the 422.
Products written at once, by pushes and the back office, never share a barcode."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.domain.ids import new_id
from app.domain.permissions import Role
from server.db.models import Product
from tests.server.support import Tenant, Terminal
from tests.server.test_product_rules_server import (
    BAD_CREATES,
    BAD_EDITS,
    JAM,
    TEA,
    UPC,
    product_body,
    written_about,
)

# ---------------------------------------------------------------- back office: 422


@pytest.mark.parametrize(("over", "field", "message"),
                         [b for b in BAD_CREATES if b[0] != {"price": "350"}
                          and b[0] != {"price": 2.5} and b[0] != {"active": "yes"}])
def test_the_back_office_answers_422_invalid_value_with_the_same_message(
        tenant: Tenant, over: dict[str, Any], field: str, message: str) -> None:
    pid = new_id()
    with tenant.server.client() as c:
        h = tenant.login(Role.MANAGER)
        r = c.post("/products", headers=h, json=product_body(id=pid, **over))
        assert r.status_code == 422, r.text
        err = r.json()["error"]
        assert (err["code"], err["message"], err["details"]) == (
            "invalid_value", message, {"field": field})
        assert err["request_id"] == r.headers["X-Request-ID"]
        assert c.get(f"/products/{pid}", headers=h).status_code == 404
    assert written_about(tenant, pid) == ([], [], [])


@pytest.mark.parametrize(("field", "base", "value", "message"), BAD_EDITS)
def test_a_back_office_edit_breaking_a_rule_is_422_and_changes_nothing(
        tenant: Tenant, field: str, base: Any, value: Any, message: str) -> None:
    with tenant.server.client() as c:
        h = tenant.login(Role.MANAGER)
        pid = c.post("/products", headers=h, json=product_body()).json()["id"]
        before = c.get(f"/products/{pid}", headers=h).json()
        r = c.patch(f"/products/{pid}", headers=h, json={"fields": {
            field: {"base": base, "value": value},
            "category": {"base": "Drinks", "value": "Tea"}}})
        assert r.status_code == 422, r.text
        err = r.json()["error"]
        assert (err["code"], err["message"], err["details"]) == (
            "invalid_value", message, {"field": field})
        assert c.get(f"/products/{pid}", headers=h).json() == before
        ok = c.patch(f"/products/{pid}", headers=h,
                     json={"fields": {"price": {"base": 350, "value": 0}}})
        assert ok.status_code == 200 and ok.json()["price"] == 0, ok.text
    assert written_about(tenant, pid)[0] == ["product.create", "product.update"]


def post_product(c: httpx.Client, headers: dict[str, str], body: dict[str, Any]) -> httpx.Response:
    """POST /products, sent again after a 5xx (as a back-office client would): a 201 or
    a 422 in the end."""
    for _ in range(5):
        r = c.post("/products", headers=headers, json=body)
        if r.status_code < 500:
            break
    assert r.status_code in (201, 422), r.text
    return r


def run_together(jobs: list[Callable[[], None]]) -> int:
    """Each job in a thread of its own (they meet at a barrier of theirs); how many ran."""
    threads = [threading.Thread(target=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return len(threads)


def test_the_back_office_refuses_a_barcode_of_another_product(tenant: Tenant) -> None:
    with tenant.server.client() as c:
        h = tenant.login(Role.MANAGER)
        jam = c.post("/products", headers=h,
                     json=product_body(sku="JAM-1", name="Strawberry jam", barcodes=[JAM])).json()["id"]
        r = c.post("/products", headers=h, json=product_body(barcodes=[UPC, JAM]))
        assert r.status_code == 422, r.text
        err = r.json()["error"]
        assert err["code"] == "invalid_value"
        assert err["message"] == (f"Barcode {JAM} already belongs to another product: "
                                  "Strawberry jam (SKU JAM-1)")
        assert err["details"] == {"field": "barcodes", "product_id": jam}
        tea = c.post("/products", headers=h, json=product_body(barcodes=[UPC]))
        assert tea.status_code == 201 and tea.json()["barcodes"] == ["0" + UPC], tea.text
        r = c.patch(f"/products/{jam}", headers=h,
                    json={"fields": {"barcodes": {"base": [JAM], "value": [JAM, UPC]}}})
        assert r.status_code == 422 and r.json()["error"]["details"]["product_id"] == tea.json()["id"]
        assert "Green tea (SKU TEA-1)" in r.json()["error"]["message"]


def test_openapi_lists_the_422_of_create_and_edit(tenant: Tenant) -> None:
    with tenant.server.client() as c:
        paths = c.get("/openapi.json").json()["paths"]
    for spec in (paths["/products"]["post"], paths["/products/{product_id}"]["patch"]):
        answer = spec["responses"]["422"]
        assert answer["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorEnvelope"}
        assert "invalid_value" in answer["description"]
        assert "already belongs" in answer["description"] or "another product" in answer["description"]


# ---------------------------------------------------------------- at the same time


def test_products_written_at_once_never_share_a_barcode(tenant: Tenant) -> None:
    """Pushes from several tills and back-office creates, all at once, each giving a new
    product the same code: exactly one gets it, every other is refused with the reason
    (a 5xx is resent, as a client does)."""
    tills = [tenant.term] + [tenant.enroll(tenant.add_store(f"Store {i}"), name=f"Till {i}")
                             for i in range(3)]
    manager = tenant.login(Role.MANAGER)
    stock = tenant.staff[Role.STOCK]
    start = threading.Barrier(len(tills) + 3)
    answers: list[str] = []

    def push(term: Terminal, i: int) -> None:
        op = term.op("product.create", new_id(), stock, product_body(sku=f"T{i}", name=f"Till {i}"))
        with httpx.Client(base_url=tenant.server.base_url, timeout=60) as c:
            start.wait()
            answers.append(term.push([op], client=c)["results"][0]["status"])

    def post(i: int) -> None:
        with httpx.Client(base_url=tenant.server.base_url, timeout=60) as c:
            body = product_body(id=new_id(), sku=f"B{i}", name=f"Back office {i}")
            start.wait()
            r = post_product(c, manager, body)
            answers.append("applied" if r.status_code == 201 else "rejected")

    writers = run_together([partial(push, t, i) for i, t in enumerate(tills)]
                           + [partial(post, i) for i in range(3)])
    assert sorted(answers) == ["applied"] + ["rejected"] * (writers - 1), answers
    with tenant.server.ctx.reader() as s:
        holders = [p for p in s.scalars(select(Product).where(Product.org_id == tenant.org_id))
                   if TEA in p.barcodes]
    assert len(holders) == 1
