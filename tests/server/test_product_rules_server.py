"""The server checks product values with the shared product rules
(app/domain/product_rules.py), on SQLite and PostgreSQL: a pushed product.create or
product.update that breaks one is rejected with the rule's message and nothing written,
and the ops after it still apply; the back office answers 422 invalid_value with the
same message (test_product_rules_backoffice.py); a barcode belongs to one live product of
an organization; a recorded sale is still never refused."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from app.domain.ids import new_id
from app.domain.permissions import Role
from server.db.models import AuditEntry, Conflict, Event, Product, QuarantinedOp
from tests.server.support import Tenant, Terminal, line, make_tenant

TEA = "4006381333931"
JAM = "5901234123457"
UPC = "036000291452"  # UPC-A; stored as its EAN-13 0036000291452
BAD_CHECK_DIGIT = "4006381333932"


def product_body(**over: Any) -> dict[str, Any]:
    return {"sku": "TEA-1", "name": "Green tea", "category": "Drinks", "price": 350,
            "tax_rate_ppm": 200_000, "barcodes": [TEA]} | over


def _edit(term: Terminal, pid: str, actor: str, **fields: tuple[Any, Any]) -> dict[str, Any]:
    return term.op("product.update", pid, actor,
                   {"fields": {k: {"base": b, "value": v} for k, (b, v) in fields.items()}})


def _create(tenant: Tenant, **over: Any) -> str:
    """A product pushed by the tenant's terminal (applied); its id."""
    pid = new_id()
    res = tenant.term.push([tenant.term.op("product.create", pid, tenant.staff[Role.STOCK],
                                           product_body(**over))])["results"][0]
    assert res["status"] == "applied", res
    return pid


def _row(tenant: Tenant, pid: str) -> dict[str, Any] | None:
    with tenant.server.ctx.reader() as s:
        p = s.get(Product, pid)
        if p is None:
            return None
        return {"name": p.name, "price": p.price, "tax_rate_ppm": p.tax_rate_ppm,
                "barcodes": list(p.barcodes), "version": p.version, "sku": p.sku}


def written_about(tenant: Tenant, pid: str) -> tuple[list[str], list[str], list[int]]:
    """(audit actions, event types, feed versions) about product ``pid``."""
    with tenant.server.ctx.reader() as s:
        audit = list(s.scalars(select(AuditEntry.action).where(AuditEntry.entity_id == pid)
                               .order_by(AuditEntry.id)))
        events = [e.type for e in s.scalars(select(Event).where(Event.org_id == tenant.org_id)
                                            .order_by(Event.created_at, Event.id))
                  if e.type.startswith("product.")
                  and e.payload["data"]["product"]["id"] == pid]
    changes, _ = tenant.term.pull_all()
    feed = [c["version"] for c in changes
            if c["entity_type"] == "product" and c["entity_id"] == pid]
    return audit, events, feed


def _quarantined(tenant: Tenant, op_id: str) -> str | None:
    with tenant.server.ctx.reader() as s:
        return s.scalar(select(QuarantinedOp.reason).where(QuarantinedOp.op_id == op_id))


BAD_CREATES = [
    ({"price": -1}, "price", "Price cannot be negative"),
    ({"price": 2.5}, "price", "Price must be a whole number of cents"),
    ({"price": "350"}, "price", "Price must be a whole number of cents"),
    ({"name": "   "}, "name", "Name is required"),
    ({"sku": ""}, "sku", "SKU is required"),
    ({"sku": "S" * 65}, "sku", "SKU is too long (65 characters; at most 64)"),
    ({"tax_rate_ppm": 1_000_001}, "tax_rate_ppm", "Tax rate must be between 0% and 100%"),
    ({"tax_rate_ppm": -1}, "tax_rate_ppm", "Tax rate must be between 0% and 100%"),
    ({"barcodes": [BAD_CHECK_DIGIT]}, "barcodes",
     f"Barcode {BAD_CHECK_DIGIT} has a wrong check digit (a misread scan?)"),
    ({"barcodes": ["96385073"]}, "barcodes",  # EAN-8, check digit 4
     "Barcode 96385073 has a wrong check digit (a misread scan?)"),
    ({"barcodes": [UPC, "0" + UPC]}, "barcodes", "Barcode 0036000291452 is listed twice"),
    ({"barcodes": [" "]}, "barcodes", "A barcode cannot be empty"),
    ({"active": "yes"}, "active", "Active must be yes or no"),
]

BAD_EDITS = [
    ("price", 350, -5, "Price cannot be negative"),
    ("name", "Green tea", "", "Name is required"),
    ("tax_rate_ppm", 200_000, 2_000_000, "Tax rate must be between 0% and 100%"),
    ("barcodes", [TEA], [TEA, BAD_CHECK_DIGIT],
     f"Barcode {BAD_CHECK_DIGIT} has a wrong check digit (a misread scan?)"),
    ("reorder_level_milli", 0, 1.5, "Reorder level must be a whole number"),
]


# ---------------------------------------------------------------- push: rejected, queue flows


@pytest.mark.parametrize(("over", "field", "message"), BAD_CREATES)
def test_an_invalid_pushed_create_is_rejected_and_the_next_ops_apply(
        tenant: Tenant, over: dict[str, Any], field: str, message: str) -> None:
    good_id = rejected_create_then_the_queue_flows(tenant, over, message)
    assert _row(tenant, good_id) is not None


def rejected_create_then_the_queue_flows(tenant: Tenant, over: dict[str, Any], message: str
                                         ) -> str:
    """Push a product.create with ``over`` in its body, then a good create (TEA-2 with
    JAM) and a sale: the first is rejected with ``message`` and quarantined, nothing of it
    written; the other two apply. Returns the good product's id."""
    term, stock = tenant.term, tenant.staff[Role.STOCK]
    bad_id, good_id = new_id(), new_id()
    bad = term.op("product.create", bad_id, stock, product_body(**over))
    good = term.op("product.create", good_id, stock, product_body(sku="TEA-2", barcodes=[JAM]))
    sale = term.order_create(tenant.staff[Role.CASHIER])
    res = term.push([bad, good, sale])["results"]
    assert [r["status"] for r in res] == ["rejected", "applied", "applied"], res
    assert res[0]["reason"] == message
    assert _quarantined(tenant, bad["op_id"]) == message
    assert _row(tenant, bad_id) is None
    assert written_about(tenant, bad_id) == ([], [], [])
    return good_id


@pytest.mark.parametrize(("field", "base", "value", "message"), BAD_EDITS)
def test_an_invalid_pushed_edit_is_rejected_nothing_changes_and_the_next_ops_apply(
        tenant: Tenant, field: str, base: Any, value: Any, message: str) -> None:
    pid = _create(tenant)
    term, stock = tenant.term, tenant.staff[Role.STOCK]
    before = _row(tenant, pid)
    bad = _edit(term, pid, stock, **{field: (base, value)},
                category=("Drinks", "Tea"))  # the valid half is not applied either
    after = _edit(term, pid, stock, price=(350, 375))
    res = term.push([bad, after])["results"]
    assert [r["status"] for r in res] == ["rejected", "applied"], res
    assert res[0]["reason"] == message
    assert _quarantined(tenant, bad["op_id"]) == message
    row = _row(tenant, pid)
    assert row == before | {"price": 375, "version": 2}
    audit, events, feed = written_about(tenant, pid)
    assert audit == ["product.create", "product.update"]
    assert events == ["product.created", "product.updated"]
    assert feed == [1, 2]


def test_an_invalid_value_that_would_clash_is_rejected_not_kept_in_a_conflict(
        tenant: Tenant) -> None:
    pid = _create(tenant)
    term, stock = tenant.term, tenant.staff[Role.STOCK]
    res = term.push([_edit(term, pid, stock, price=(350, 399)),
                     _edit(term, pid, stock, price=(350, -1))])["results"]  # stale base
    assert [r["status"] for r in res] == ["applied", "rejected"], res
    assert res[1]["reason"] == "Price cannot be negative"
    with tenant.server.ctx.reader() as s:
        assert s.scalar(select(func.count()).select_from(Conflict)
                        .where(Conflict.entity_id == pid)) == 0


def test_valid_edits_still_apply_and_merge(tenant: Tenant) -> None:
    pid = _create(tenant, barcodes=[TEA, JAM])
    a, stock = tenant.term, tenant.staff[Role.STOCK]
    b = tenant.enroll(name="Till B")
    res = a.push([_edit(a, pid, stock, price=(350, 0), name=("Green tea", "Green tea 20 bags"),
                        tax_rate_ppm=(200_000, 1_000_000), reorder_level_milli=(0, 2000),
                        barcodes=([JAM, TEA], [TEA, JAM, UPC]))])["results"]  # base in any order
    assert res[0]["status"] == "applied", res
    assert _row(tenant, pid) == {"name": "Green tea 20 bags", "price": 0, "tax_rate_ppm": 1_000_000,
                                 "barcodes": [TEA, JAM, "0" + UPC], "version": 2, "sku": "TEA-1"}
    # another till edits another field from the older state: merged, not a conflict
    res = b.push([_edit(b, pid, stock, category=("Drinks", "Tea"))])["results"]
    assert (res[0]["status"], res[0]["version"]) == ("applied", 3), res
    # the same value again (a UPC-A spelling of a stored EAN-13 is the same code): no change
    res = b.push([_edit(b, pid, stock, barcodes=([TEA, JAM], [UPC, JAM, TEA]))])["results"]
    assert (res[0]["status"], res[0]["flags"]) == ("applied", ["no_change"]), res


def test_the_merged_product_must_pass_the_rules(tenant: Tenant) -> None:
    """A product stored before the rules were checked (a negative price, a code with a
    wrong check digit): an edit that leaves the price so is refused, naming it; an edit
    that corrects it applies; its old barcode is not judged until the barcodes change."""
    pid = new_id()
    with tenant.server.ctx.writer.begin() as s:
        s.add(Product(id=pid, org_id=tenant.org_id, sku="OLD-1", name="Old tea", price=-100,
                      tax_rate_ppm=200_000, barcodes=[BAD_CHECK_DIGIT]))
    term, stock = tenant.term, tenant.staff[Role.STOCK]
    res = term.push([_edit(term, pid, stock, name=("Old tea", "Older tea")),
                     _edit(term, pid, stock, price=(-100, 100), name=("Old tea", "Older tea")),
                     _edit(term, pid, stock, barcodes=([BAD_CHECK_DIGIT], [BAD_CHECK_DIGIT, TEA]))
                     ])["results"]
    assert [r["status"] for r in res] == ["rejected", "applied", "rejected"], res
    assert res[0]["reason"] == ("Price cannot be negative (the product's current price; "
                                "correct it in the same edit)")
    assert res[2]["reason"] == f"Barcode {BAD_CHECK_DIGIT} has a wrong check digit (a misread scan?)"
    assert _row(tenant, pid) == {"name": "Older tea", "price": 100, "tax_rate_ppm": 200_000,
                                 "barcodes": [BAD_CHECK_DIGIT], "version": 2, "sku": "OLD-1"}


# ---------------------------------------------------------------- barcodes of other products


def test_a_barcode_of_another_product_is_refused_naming_it(tenant: Tenant) -> None:
    owner = _create(tenant, sku="JAM-1", name="Strawberry jam", barcodes=[JAM, "0" + UPC])
    mine = _create(tenant, sku="TEA-1", barcodes=[TEA])
    term, stock = tenant.term, tenant.staff[Role.STOCK]
    taken = "already belongs to another product: Strawberry jam (SKU JAM-1)"
    new = new_id()
    res = term.push([
        term.op("product.create", new, stock, product_body(sku="TEA-9", barcodes=[JAM])),
        _edit(term, mine, stock, barcodes=([TEA], [TEA, UPC])),  # its UPC-A spelling
        _edit(term, mine, stock, barcodes=([TEA], [TEA, "5000112637922"])),
    ])["results"]
    assert [r["status"] for r in res] == ["rejected", "rejected", "applied"], res
    assert res[0]["reason"] == f"Barcode {JAM} {taken}"
    assert res[1]["reason"] == f"Barcode 0036000291452 {taken}"
    assert _row(tenant, new) is None
    assert _row(tenant, mine)["barcodes"] == [TEA, "5000112637922"]
    assert _row(tenant, owner)["barcodes"] == [JAM, "0" + UPC]


def test_two_creates_of_one_push_cannot_share_a_barcode(tenant: Tenant) -> None:
    term, stock = tenant.term, tenant.staff[Role.STOCK]
    first, second = new_id(), new_id()
    res = term.push([term.op("product.create", first, stock, product_body(sku="A", name="First")),
                     term.op("product.create", second, stock, product_body(sku="B", name="Second"))
                     ])["results"]
    assert [r["status"] for r in res] == ["applied", "rejected"], res
    assert res[1]["reason"] == f"Barcode {TEA} already belongs to another product: First (SKU A)"


def test_inactive_products_keep_their_codes_deleted_ones_and_other_orgs_do_not(
        tenant: Tenant) -> None:
    term, stock = tenant.term, tenant.staff[Role.STOCK]
    inactive = _create(tenant, sku="OFF", name="Off the shelf", barcodes=[JAM], active=False)
    deleted = _create(tenant, sku="GONE", name="Gone", barcodes=[TEA])
    with tenant.server.client() as c:
        r = c.delete(f"/products/{deleted}", headers=tenant.login(Role.MANAGER))
        assert r.status_code == 200, r.text
    with make_tenant(tenant.server) as other:  # another organization may use both codes
        theirs = new_id()
        res = other.term.push([other.term.op("product.create", theirs, other.staff[Role.STOCK],
                                             product_body(barcodes=[TEA, JAM]))])["results"]
        assert res[0]["status"] == "applied", res
    res = term.push([
        term.op("product.create", new_id(), stock, product_body(sku="NEW-1", barcodes=[JAM])),
        term.op("product.create", new_id(), stock, product_body(sku="NEW-2", barcodes=[TEA])),
    ])["results"]
    assert [r["status"] for r in res] == ["rejected", "applied"], res
    assert res[0]["reason"] == f"Barcode {JAM} already belongs to another product: Off the shelf (SKU OFF)"
    assert _row(tenant, inactive)["barcodes"] == [JAM]


def test_a_resolution_cannot_take_another_products_barcode(tenant: Tenant) -> None:
    """Conflict resolution applies its values through the same function as an edit."""
    _create(tenant, sku="JAM-1", name="Strawberry jam", barcodes=[JAM])
    pid = _create(tenant, barcodes=[])
    term, stock = tenant.term, tenant.staff[Role.STOCK]
    res = term.push([_edit(term, pid, stock, barcodes=([], [TEA])),
                     _edit(term, pid, stock, barcodes=([], [JAM]))])["results"]
    assert [r["status"] for r in res] == ["applied", "conflict"], res
    cid = res[1]["conflict_id"]
    with tenant.server.client() as c:
        h = tenant.login(Role.MANAGER)
        r = c.post(f"/conflicts/{cid}/resolve", headers=h, json={"choice": "terminal"})
        assert r.status_code == 422, r.text
        err = r.json()["error"]
        assert err["code"] == "invalid_value"
        assert err["message"] == (f"Barcode {JAM} already belongs to another product: "
                                  "Strawberry jam (SKU JAM-1)")
        assert err["details"]["field"] == "barcodes"
    assert _row(tenant, pid)["barcodes"] == [TEA]
    with tenant.server.ctx.reader() as s:
        assert s.get(Conflict, cid).status == "open"


# ---------------------------------------------------------------- sales are never refused


def test_a_sale_at_another_price_than_the_catalog_is_never_refused(tenant: Tenant) -> None:
    pid = _create(tenant)  # 350 in the catalog
    term, cashier, stock = tenant.term, tenant.staff[Role.CASHIER], tenant.staff[Role.STOCK]
    refused_price = _edit(term, pid, stock, price=(350, -1))
    sale = term.order_create(cashier, lines=[line(pid, 299, 1000, 200_000)], pay=True)
    received = stock_op(term, stock, pid)
    sale_alone = term.order_create(cashier, lines=[line(pid, 0, 2000, 200_000)])
    res = term.push([refused_price, sale, received, sale_alone])["results"]
    assert [r["status"] for r in res] == ["rejected", "applied", "applied", "applied"], res
    assert "price_changed" in res[1]["flags"] and "price_changed" in res[3]["flags"]
    assert _row(tenant, pid)["price"] == 350


def stock_op(term: Terminal, actor: str, pid: str) -> dict[str, Any]:
    return term.op("stock.adjust", new_id(), actor, {
        "movement_id": new_id(), "product_id": pid, "kind": "receive",
        "qty_delta_milli": 5000, "created_at": datetime.now(UTC).isoformat()})
