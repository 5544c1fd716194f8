"""POST /sync/push for the requests that need none of FastAPI's machinery.

A busy server's most frequent request is a terminal's push: 100 tills selling at once
send hundreds a second. FastAPI's routing, dependency solving, body parsing and
telemetry cost more CPU per push than writing the sale does, and every push waits for
that CPU. So :class:`server.middleware.RequestMiddleware` hands a push to
:func:`handle` first, which takes only the plain case: a terminal token already seen
by this process, a JSON body that is a valid :class:`PushRequest`. It then runs the
same :func:`server.sync.service.push` as the route. Anything else (no or an unknown
token, a body that does not validate) returns False and goes through the FastAPI route
in ``server.sync.endpoints``, which gives the usual answers and error envelopes.
(An operation out of range does not make the body invalid: :class:`PushRequest` reads it
as a ``RawOperation``, and the service answers it ``rejected`` on its own, as the route
does. The body limit is the middleware's, before this runs.)
"""

from __future__ import annotations

from pydantic import ValidationError
from starlette.types import Scope, Send

from server.auth.deps import terminal_cache
from server.context import AppContext
from server.deps_tokens import TERMINAL_TOKEN_PREFIX
from server.errors import ApiError, envelope
from server.security import sha256_hex
from server.sync import service
from sync.protocol import PushRequest

_BEARER = b"bearer "


async def handle(ctx: AppContext, scope: Scope, body: bytes, send: Send) -> bool:
    """Answer the push if it is the plain case; False to let the FastAPI route answer."""
    token = b""
    json_body = False
    for name, value in scope["headers"]:
        if name == b"authorization" and value[:7].lower() == _BEARER:
            token = value[7:].strip()
        elif name == b"content-type":
            json_body = value.split(b";")[0].strip().lower() == b"application/json"
    if not json_body or not token.startswith(TERMINAL_TOKEN_PREFIX.encode()):
        return False
    terminal = terminal_cache(ctx).get(sha256_hex(token.decode("latin-1")))
    if terminal is None:
        return False
    try:
        request = PushRequest.model_validate_json(body)
    except ValidationError:
        return False
    try:
        result = await service.push(ctx, terminal, request)
    except ApiError as exc:
        await envelope(exc.status, exc.code, exc.message, exc.details, exc.headers)(
            scope, _no_body, send)
        return True
    payload = result.model_dump_json().encode()
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
    ]})
    await send({"type": "http.response.body", "body": payload})
    return True


async def _no_body() -> dict[str, object]:
    return {"type": "http.request", "body": b"", "more_body": False}
