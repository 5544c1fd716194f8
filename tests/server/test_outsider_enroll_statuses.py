"""POST /terminals/enroll answers 409 ``no_device_code`` once an organization's device
codes are all given out, a status its OpenAPI operation did not list ("every operation
of the OpenAPI schema lists each status it can answer", docs/sync-protocol.md §2; helper
O, a client written from docs/ and /openapi.json alone)."""

from __future__ import annotations

from server.db.models import Organization
from server.tenancy import service as tenancy
from tests.server.support import Tenant


def test_enroll_declares_the_409_it_answers(tenant: Tenant) -> None:
    with tenant.server.ctx.writer.begin() as s:
        org = s.get(Organization, tenant.org_id)
        assert org is not None
        org.next_device_index = 1023  # every code but the server's ZZ is given out
        code, _ = tenancy.create_enrollment_code(s, tenant.org_id, tenant.store_id, 600)
    with tenant.server.client() as c:
        r = c.post("/terminals/enroll", json={"code": code, "name": "One too many"})
        assert r.status_code == 409, r.text
        assert r.json()["error"]["code"] == "no_device_code"
        spec = c.get("/openapi.json").json()
    answers = spec["paths"]["/terminals/enroll"]["post"]["responses"]
    assert "409" in answers, sorted(answers)
    assert answers["409"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ErrorEnvelope")
