"""The server traces a till's request as a child of the ``traceparent`` sync/trace.py
gives it: the request's server span has the till's trace id and, as its parent, the
till's parent id (through the FastAPI route and the push shortcut; SQLite and
PostgreSQL).

(Sent with http.client: in this process httpx is instrumented by the server's tracing,
for its webhook deliveries, and would put its own client span's traceparent in place.)"""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from app.domain.permissions import Role
from sync import trace
from tests.server.support import make_tenant
from tests.server.test_tracing import _wait_for, traced_server


@pytest.mark.parametrize("via", ["route", "shortcut"])
def test_a_till_request_joins_the_tills_trace(own_db_url: str, via: str) -> None:
    exporter = InMemorySpanExporter()
    with traced_server(own_db_url, exporter) as server, make_tenant(server) as tenant:
        term = tenant.enroll(name="Traced till")
        if via == "shortcut":
            term.push([])  # the token seen: the next push takes the shortcut
        op = term.order_create(tenant.staff[Role.CASHIER], pay=True)
        header = trace.traceparent()
        where = urlsplit(server.base_url)
        conn = http.client.HTTPConnection(where.hostname or "", where.port, timeout=30)
        try:
            conn.request("POST", "/sync/push", json.dumps({"operations": [op]}), {
                **term.headers, "Content-Type": "application/json", "traceparent": header})
            answer = conn.getresponse()
            body = json.loads(answer.read())
            rid = answer.getheader("x-request-id")
        finally:
            conn.close()
        assert answer.status == 200 and body["results"][0]["status"] == "applied", body
        _wait_for(exporter, lambda s: (s.attributes or {}).get("tillsync.request_id") == rid, 5)
        request = [s for s in exporter.get_finished_spans()
                   if (s.attributes or {}).get("tillsync.request_id") == rid]
        assert len(request) == 1
        span = request[0]
        assert format(span.context.trace_id, "032x") == trace.trace_id_of(header)
        assert span.parent is not None and span.parent.is_remote
        assert format(span.parent.span_id, "016x") == header[36:52]
        assert span.context.trace_flags.sampled
        in_trace = {s.name for s in exporter.get_finished_spans()
                    if s.context.trace_id == span.context.trace_id}
        assert {"push.group_commit.wait", "push.group_commit"} <= in_trace, in_trace
