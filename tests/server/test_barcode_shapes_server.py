"""Issue 21, defect 3 on the server: text that is not a barcode is refused in words, for a
pushed product.create and product.update and for the back office's POST/PATCH /products
(SQLite and PostgreSQL); the product keeps its real EAN."""

from __future__ import annotations

from typing import Any

from app.domain.barcode import SHAPES
from app.domain.permissions import Role
from tests.server.support import Tenant
from tests.server.test_product_rules_server import (
    TEA,
    _create,
    _edit,
    _row,
    product_body,
    rejected_create_then_the_queue_flows,
)

NOT_A_BARCODE = "1, 5x"
MESSAGE = f"Barcode “{NOT_A_BARCODE}” is not a barcode: use {SHAPES}"


def test_a_pushed_create_with_text_as_a_barcode_is_rejected(tenant: Tenant) -> None:
    rejected_create_then_the_queue_flows(tenant, {"barcodes": [NOT_A_BARCODE]}, MESSAGE)


def test_a_pushed_edit_cannot_replace_the_ean_with_text(tenant: Tenant) -> None:
    pid = _create(tenant)
    stock = tenant.staff[Role.STOCK]
    res = tenant.term.push([_edit(tenant.term, pid, stock, barcodes=([TEA], [NOT_A_BARCODE]))])["results"]
    assert res[0]["status"] == "rejected" and res[0]["reason"] == MESSAGE, res
    row: dict[str, Any] | None = _row(tenant, pid)
    assert row is not None and row["barcodes"] == [TEA]


def test_the_back_office_answers_422_for_text_as_a_barcode(tenant: Tenant) -> None:
    with tenant.server.client() as c:
        h = tenant.login(Role.MANAGER)
        r = c.post("/products", headers=h, json=product_body(barcodes=[NOT_A_BARCODE]))
        assert r.status_code == 422, r.text
        assert r.json()["error"]["message"] == MESSAGE
        assert r.json()["error"]["details"] == {"field": "barcodes"}
