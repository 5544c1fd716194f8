"""A store's currency and locale are ones a till can trade and format in, and a store
that has sold keeps its currency (helper O, a client written from docs/ alone: PATCH
/stores/{id} took "XXX" for a trading store, after which every sale its tills had
recorded offline in EUR was rejected, against "a recorded sale is never refused for
what the till could not know")."""

from __future__ import annotations

import pytest

from app.domain.permissions import Role
from tests.server.support import Tenant


@pytest.mark.parametrize("body", [{"currency": "XXX"}, {"currency": "ABC"}, {"currency": "XAU"},
                                  {"locale": "xx"}, {"locale": "en-IE"}])
def test_a_currency_or_locale_no_till_knows_is_refused(tenant: Tenant, body: dict[str, str]
                                                       ) -> None:
    owner = tenant.login(Role.OWNER)
    with tenant.server.client() as c:
        patched = c.patch(f"/stores/{tenant.store_id}", headers=owner, json=body)
        created = c.post("/stores", headers=owner, json={"name": "Branch", **body})
        for r in (patched, created):
            assert r.status_code == 422, r.text
            assert r.json()["error"]["code"] == "validation_error", r.text
            assert list(body.values())[0] in r.text, r.text
        made = c.post("/stores", headers=owner, json={"name": "Branch", "currency": "gbp",
                                                      "locale": "en_GB"})
        assert made.status_code == 201, made.text
        assert made.json()["currency"] == "GBP"


def test_a_store_that_has_sold_keeps_its_currency(tenant: Tenant) -> None:
    owner, term = tenant.login(Role.OWNER), tenant.term
    with tenant.server.client() as c:
        before = c.get("/stores", headers=owner).json()
        currency = next(s["currency"] for s in before if s["id"] == tenant.store_id)
        other = "GBP" if currency != "GBP" else "USD"
        # not trading yet: may still change, and back
        for code in (other, currency):
            r = c.patch(f"/stores/{tenant.store_id}", headers=owner, json={"currency": code})
            assert r.status_code == 200 and r.json()["currency"] == code, r.text
        sale = term.order_create(tenant.staff[Role.CASHIER], pay=True)
        assert term.push([sale])["results"][0]["status"] == "applied"
        r = c.patch(f"/stores/{tenant.store_id}", headers=owner, json={"currency": other})
        assert r.status_code == 409, r.text
        err = r.json()["error"]
        assert err["code"] == "currency_in_use" and err["details"] == {"currency": currency}
        assert f"has sales in {currency}" in err["message"], err
        same = c.patch(f"/stores/{tenant.store_id}", headers=owner,
                       json={"currency": currency.lower(), "name": "Renamed"})
        assert same.status_code == 200 and same.json()["name"] == "Renamed", same.text
    late = term.order_create(tenant.staff[Role.CASHIER], pay=True)
    assert term.push([late])["results"][0]["status"] == "applied"  # its tills' sales still land
