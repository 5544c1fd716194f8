"""GET /sync/pull sends each change's ``data`` as the JSON text the feed stored
(server/feed/service.py ``pull_json``), opened only where it must be: a page is the
same as the feed read through the ORM (sealed customer data opened, PIN hashes above
the till's ceiling blanked), on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.domain.ids import new_id
from app.domain.permissions import Role
from server.db.models import FeedEntry
from server.feed.ceiling import data_for_ceiling
from tests.server.support import Tenant


def _feed_as_orm_reads_it(tenant: Tenant, ceiling: str) -> list[dict[str, Any]]:
    with tenant.server.ctx.reader() as s:
        rows = s.scalars(select(FeedEntry).where(FeedEntry.store_id == tenant.store_id)
                         .order_by(FeedEntry.position)).all()
        return [{"position": r.position, "entity_type": r.entity_type, "entity_id": r.entity_id,
                 "version": r.version, "deleted": r.deleted,
                 "data": data_for_ceiling(r.entity_type, r.data, ceiling),
                 "origin_device_id": r.origin_device_id, "op_id": r.op_id} for r in rows]


def test_a_page_is_the_feed_with_sealed_data_opened_and_hashes_blanked(tenant: Tenant) -> None:
    term, cashier = tenant.term, tenant.staff[Role.CASHIER]
    name, phone = "Zebulon Quartzfield", "+353 87 555 0199"
    create = term.order_create(cashier, pay=True)
    create["payload"]["customer"] = {"id": new_id(), "name": name, "phone": phone}
    plain = term.order_create(cashier, pay=True)
    res = term.push([create, plain])["results"]
    assert [r["status"] for r in res] == ["applied"] * 2, res

    floor = tenant.enroll(name="Shop floor", max_role=Role.MANAGER)
    pulled, cursor = floor.pull_all()
    expected = _feed_as_orm_reads_it(tenant, Role.MANAGER.value)
    assert pulled == expected
    assert cursor == expected[-1]["position"]
    orders = {c["entity_id"]: c["data"] for c in pulled if c["entity_type"] == "order"}
    assert orders[create["entity_id"]]["customer"]["name"] == name  # opened
    blanked = [c for c in pulled if c["entity_type"] == "staff" and not c["data"]["pin_hash"]]
    assert {c["data"]["role"] for c in blanked} == {Role.OWNER.value, Role.ADMIN.value}

    with tenant.server.client() as c:
        page = c.get("/sync/pull", params={"after": cursor}, headers=floor.headers).json()
    assert page["changes"] == [] and page["cursor"] == cursor and not page["has_more"]
    assert page["max_role"] == Role.MANAGER.value and page["head"] == cursor
