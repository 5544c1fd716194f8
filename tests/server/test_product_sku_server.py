"""An SKU belongs to one live product of an organization, on SQLite and PostgreSQL:
a pushed product.create or product.update giving a product another product's SKU is
rejected naming that product, nothing is written and the ops after it still apply; the
back office's POST/PATCH /products answer 422 invalid_value with the same message; SKUs
are compared exactly, as the terminal's store compares them; products written at once
never share an SKU."""

from __future__ import annotations

import threading
from functools import partial

import httpx
from sqlalchemy import select

from app.domain.ids import new_id
from app.domain.permissions import Role
from server.db.models import Conflict, Product
from tests.server.support import Tenant, Terminal, make_tenant
from tests.server.test_product_rules_backoffice import post_product, run_together
from tests.server.test_product_rules_server import (
    JAM,
    _create,
    _edit,
    _row,
    product_body,
    rejected_create_then_the_queue_flows,
    written_about,
)

TAKEN = "SKU TEA-1 already exists on another product: Green tea"


def test_a_pushed_create_with_another_products_sku_is_rejected_and_the_queue_flows(
        tenant: Tenant) -> None:
    owner = _create(tenant)  # TEA-1, Green tea
    good_id = rejected_create_then_the_queue_flows(  # a free code, a taken SKU
        tenant, {"name": "Black tea", "barcodes": [JAM]}, TAKEN)
    assert _row(tenant, good_id)["barcodes"] == [JAM]  # the refused create did not hold it
    assert _row(tenant, owner)["version"] == 1


def test_a_pushed_edit_to_another_products_sku_is_rejected_nothing_changes(
        tenant: Tenant) -> None:
    _create(tenant)
    mine = _create(tenant, sku="JAM-1", name="Strawberry jam", barcodes=[JAM])
    term, stock = tenant.term, tenant.staff[Role.STOCK]
    before = _row(tenant, mine)
    bad = _edit(term, mine, stock, sku=("JAM-1", "TEA-1"), price=(350, 399))
    after = _edit(term, mine, stock, price=(350, 375))
    res = term.push([bad, after])["results"]
    assert [r["status"] for r in res] == ["rejected", "applied"], res
    assert res[0]["reason"] == TAKEN
    assert _row(tenant, mine) == before | {"price": 375, "version": 2}
    audit, events, feed = written_about(tenant, mine)
    assert (audit, events, feed) == (["product.create", "product.update"],
                                     ["product.created", "product.updated"], [1, 2])


def test_two_creates_of_one_push_cannot_share_an_sku(tenant: Tenant) -> None:
    term, stock = tenant.term, tenant.staff[Role.STOCK]
    first, second = new_id(), new_id()
    res = term.push([
        term.op("product.create", first, stock, product_body(sku="A", name="First", barcodes=[])),
        term.op("product.create", second, stock, product_body(sku="A", name="Second", barcodes=[])),
    ])["results"]
    assert [r["status"] for r in res] == ["applied", "rejected"], res
    assert res[1]["reason"] == "SKU A already exists on another product: First"
    assert _row(tenant, second) is None


def test_skus_are_compared_exactly_as_on_the_terminal(tenant: Tenant) -> None:
    """The terminal's store holds ``TEA-1`` and ``tea-1`` as two SKUs (its unique column
    compares exactly): so does the server, or a product one side takes would be refused
    by the other."""
    _create(tenant)
    other = _create(tenant, sku="tea-1", name="Loose tea", barcodes=[JAM])
    assert _row(tenant, other)["sku"] == "tea-1"


def test_inactive_products_keep_their_sku_deleted_ones_and_other_orgs_do_not(
        tenant: Tenant) -> None:
    term, stock = tenant.term, tenant.staff[Role.STOCK]
    _create(tenant, sku="OFF", name="Off the shelf", barcodes=[], active=False)
    deleted = _create(tenant, sku="GONE", name="Gone", barcodes=[])
    with tenant.server.client() as c:
        r = c.delete(f"/products/{deleted}", headers=tenant.login(Role.MANAGER))
        assert r.status_code == 200, r.text
    with make_tenant(tenant.server) as other:  # another organization may use both SKUs
        res = other.term.push([
            other.term.op("product.create", new_id(), other.staff[Role.STOCK],
                          product_body(sku=sku, barcodes=[])) for sku in ("OFF", "GONE")])["results"]
        assert [r["status"] for r in res] == ["applied", "applied"], res
    res = term.push([
        term.op("product.create", new_id(), stock, product_body(sku="OFF", barcodes=[])),
        term.op("product.create", new_id(), stock, product_body(sku="GONE", barcodes=[])),
    ])["results"]
    assert [r["status"] for r in res] == ["rejected", "applied"], res
    assert res[0]["reason"] == "SKU OFF already exists on another product: Off the shelf"


def test_an_sku_shared_before_the_rule_is_judged_only_when_it_changes(tenant: Tenant) -> None:
    """Two products stored with one SKU before the server checked it: editing other
    fields of either still applies; changing the SKU to a free one applies too."""
    first, second = new_id(), new_id()
    with tenant.server.ctx.writer.begin() as s:
        for pid, name in ((first, "Old tea"), (second, "Old tea again")):
            s.add(Product(id=pid, org_id=tenant.org_id, sku="OLD", name=name, price=100,
                          tax_rate_ppm=0, barcodes=[]))
    term, stock = tenant.term, tenant.staff[Role.STOCK]
    res = term.push([_edit(term, second, stock, price=(100, 120)),
                     _edit(term, second, stock, sku=("OLD", "OLD-2"))])["results"]
    assert [r["status"] for r in res] == ["applied", "applied"], res
    assert _row(tenant, second)["sku"] == "OLD-2"
    res = term.push([_edit(term, second, stock, sku=("OLD-2", "OLD"))])["results"]
    assert res[0]["status"] == "rejected"
    assert res[0]["reason"] == "SKU OLD already exists on another product: Old tea"


def test_the_back_office_answers_422_for_another_products_sku(tenant: Tenant) -> None:
    with tenant.server.client() as c:
        h = tenant.login(Role.MANAGER)
        tea = c.post("/products", headers=h, json=product_body()).json()["id"]
        pid = new_id()
        r = c.post("/products", headers=h, json=product_body(id=pid, barcodes=[JAM]))
        assert r.status_code == 422, r.text
        err = r.json()["error"]
        assert (err["code"], err["message"], err["details"]) == (
            "invalid_value", TAKEN, {"field": "sku", "product_id": tea})
        assert c.get(f"/products/{pid}", headers=h).status_code == 404
        jam = c.post("/products", headers=h,
                     json=product_body(sku="JAM-1", name="Jam", barcodes=[JAM])).json()["id"]
        before = c.get(f"/products/{jam}", headers=h).json()
        r = c.patch(f"/products/{jam}", headers=h,
                    json={"fields": {"sku": {"base": "JAM-1", "value": "TEA-1"}}})
        assert r.status_code == 422, r.text
        assert r.json()["error"]["details"] == {"field": "sku", "product_id": tea}
        assert c.get(f"/products/{jam}", headers=h).json() == before
        ok = c.patch(f"/products/{jam}", headers=h,
                     json={"fields": {"sku": {"base": "JAM-1", "value": "JAM-2"}}})
        assert ok.status_code == 200 and ok.json()["sku"] == "JAM-2", ok.text
    assert written_about(tenant, pid) == ([], [], [])


def test_a_resolution_cannot_take_another_products_sku(tenant: Tenant) -> None:
    _create(tenant)
    pid = _create(tenant, sku="JAM-1", name="Jam", barcodes=[JAM])
    term, stock = tenant.term, tenant.staff[Role.STOCK]
    res = term.push([_edit(term, pid, stock, sku=("JAM-1", "JAM-2")),
                     _edit(term, pid, stock, sku=("JAM-1", "TEA-1"))])["results"]
    assert [r["status"] for r in res] == ["applied", "conflict"], res
    cid = res[1]["conflict_id"]
    with tenant.server.client() as c:
        r = c.post(f"/conflicts/{cid}/resolve", headers=tenant.login(Role.MANAGER),
                   json={"choice": "terminal"})
        assert r.status_code == 422, r.text
        err = r.json()["error"]
        assert (err["code"], err["message"], err["details"]["field"]) == (
            "invalid_value", TAKEN, "sku")
    assert _row(tenant, pid)["sku"] == "JAM-2"
    with tenant.server.ctx.reader() as s:
        assert s.get(Conflict, cid).status == "open"


# ---------------------------------------------------------------- at the same time


def test_products_written_at_once_never_share_an_sku(tenant: Tenant) -> None:
    """Pushes from several tills and back-office creates, all at once, each giving a new
    product (with a code of its own) the same SKU: exactly one gets it, every other is
    refused with the reason (a 5xx is resent, as a client does)."""
    tills = [tenant.term] + [tenant.enroll(tenant.add_store(f"Store {i}"), name=f"Till {i}")
                             for i in range(3)]
    manager = tenant.login(Role.MANAGER)
    stock = tenant.staff[Role.STOCK]
    start = threading.Barrier(len(tills) + 3)
    answers: list[tuple[str, str | None]] = []

    def push(term: Terminal, i: int) -> None:
        op = term.op("product.create", new_id(), stock,
                     product_body(name=f"Till {i}", barcodes=[f"TILL-{i}"]))
        with httpx.Client(base_url=tenant.server.base_url, timeout=60) as c:
            start.wait()
            for _ in range(5):  # the same op again after a transient error, as a till does
                r = c.post("/sync/push", json={"operations": [op]}, headers=term.headers)
                if r.status_code < 500:
                    break
            assert r.status_code == 200, r.text
            res = r.json()["results"][0]
            answers.append((res["status"], res.get("reason")))

    def post(i: int) -> None:
        with httpx.Client(base_url=tenant.server.base_url, timeout=60) as c:
            body = product_body(id=new_id(), name=f"Back office {i}", barcodes=[f"BO-{i}"])
            start.wait()
            r = post_product(c, manager, body)
            answers.append(("applied", None) if r.status_code == 201
                           else ("rejected", r.json()["error"]["message"]))

    writers = run_together([partial(push, t, i) for i, t in enumerate(tills)]
                           + [partial(post, i) for i in range(3)])
    assert sorted(a[0] for a in answers) == ["applied"] + ["rejected"] * (writers - 1), answers
    with tenant.server.ctx.reader() as s:
        holders = list(s.scalars(select(Product).where(Product.org_id == tenant.org_id,
                                                       Product.sku == "TEA-1")))
    assert len(holders) == 1
    winner = holders[0].name
    assert all(reason == f"SKU TEA-1 already exists on another product: {winner}"
               for status, reason in answers if status == "rejected"), answers
