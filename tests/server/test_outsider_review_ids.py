"""A stock.accept whose review id the server already holds for another acceptance
(another item, or another organization's) was answered ``applied`` with the flag
``already_accepted`` and nothing kept: the item stayed on every till's reconciliation
list (helper O, a client written from docs/ alone; docs/sync-protocol.md §4 keeps
already_accepted for an item another till accepted first). Another acceptance's id is
rejected; the same item accepted again is still already_accepted."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from app.domain.ids import new_id
from app.domain.permissions import Role
from server.db.models import StockReview
from tests.server.support import RunningServer, Tenant, Terminal, make_tenant


def _product(term: Terminal, actor: str) -> str:
    pid = new_id()
    op = term.op("product.create", pid, actor, {
        "sku": "RV-" + pid[-8:], "name": "Jam", "price": 100, "tax_rate_ppm": 0})
    assert term.push([op])["results"][0]["status"] == "applied"
    return pid


def _accept(term: Terminal, actor: str, product_id: str, on_hand: int,
            review_id: str) -> dict[str, Any]:
    return term.op("stock.accept", review_id, actor, {
        "review_id": review_id, "key": f"negative:{product_id}:{on_hand}", "kind": "negative",
        "product_id": product_id, "on_hand_milli": on_hand, "moved_milli": 0,
        "accepted_at": datetime.now(UTC).isoformat()})


def _result(term: Terminal, op: dict[str, Any]) -> tuple[str, list[str], str]:
    r = term.push([op])["results"][0]
    return r["status"], r["flags"], r.get("reason") or ""


def _keys(tenant: Tenant) -> set[str]:
    with tenant.server.ctx.reader() as s:
        return set(s.scalars(select(StockReview.key).where(
            StockReview.store_id == tenant.store_id)))


def test_another_acceptances_review_id_is_refused(
        tenant: Tenant, server: RunningServer) -> None:
    stock = tenant.staff[Role.STOCK]
    jam = _product(tenant.term, stock)
    review_id = new_id()
    assert _result(tenant.term, _accept(tenant.term, stock, jam, -1000, review_id))[0] == \
        "applied"
    # the same item again (a new id, another till): already accepted
    status, flags, _ = _result(tenant.term, _accept(tenant.term, stock, jam, -1000, new_id()))
    assert (status, flags) == ("applied", ["already_accepted"])
    # that review id on another item of this store: refused, the item stays listed
    status, _, reason = _result(tenant.term, _accept(tenant.term, stock, jam, -2000, review_id))
    assert status == "rejected" and review_id in reason, reason
    assert _keys(tenant) == {f"negative:{jam}:-1000"}
    with make_tenant(server) as other:
        their_stock = other.staff[Role.STOCK]
        theirs = _product(other.term, their_stock)
        status, _, reason = _result(
            other.term, _accept(other.term, their_stock, theirs, -1000, review_id))
        assert status == "rejected", reason
        assert _keys(other) == set()
