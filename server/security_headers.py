"""Security headers on every answer, and who may read /docs, /openapi.json and /metrics.

A plain ASGI middleware, registered outermost (server/main.py) so that every answer gets
the headers, the push shortcut's (server/sync/fast_push.py) and the 413/429 answers of
server/middleware.py included:

- ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY``,
  ``Referrer-Policy: no-referrer``;
- ``Content-Security-Policy: default-src 'none'; frame-ancestors 'none'`` (a JSON API
  loads nothing), relaxed only on the interactive docs pages when they are served;
- ``Strict-Transport-Security`` when the request came over TLS (uvicorn with
  ``--ssl-certfile``, or a trusted proxy's ``X-Forwarded-Proto: https`` with
  ``--proxy-headers``);
- ``Cache-Control: no-store`` unless the route set its own (answers carry tokens and
  shop data; no shared cache may keep them).

The docs (``/docs``, ``/redoc``, ``/openapi.json``) and ``/metrics`` are served to a
*local request* of a *dev server* only, unless the settings say otherwise
(``TILLSYNC_PUBLIC_DOCS``, ``TILLSYNC_PUBLIC_METRICS``, ``TILLSYNC_METRICS_TOKEN``,
server/config.py). A dev server is one not in production mode (loopback bind and
SQLite); a local request is one from and to a loopback address that no proxy forwarded.

A dev server that finds itself answering on a non-loopback address (started as
``uvicorn --factory server.main:create_app --host 0.0.0.0`` without
``TILLSYNC_BIND_HOST``, so its secrets were never checked) answers 503 and names the
variables, rather than serve the world with a public JWT secret.
"""

from __future__ import annotations

import hmac
import ipaddress

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.config import Settings
from server.errors import envelope

DOC_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})
DOC_PAGES = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})
METRICS_PATH = "/metrics"
FORWARDED = (b"x-forwarded-for", b"forwarded", b"x-real-ip", b"x-forwarded-host")

API_CSP = b"default-src 'none'; frame-ancestors 'none'"
#: Swagger UI and ReDoc as FastAPI serves them: scripts and styles from jsDelivr, an
#: inline start-up script, ReDoc's fonts and its web worker.
DOCS_CSP = (
    b"default-src 'none'; script-src 'unsafe-inline' https://cdn.jsdelivr.net; "
    b"style-src 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    b"font-src https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com "
    b"https://cdn.redoc.ly; connect-src 'self'; worker-src blob:; frame-ancestors 'none'"
)
HSTS = b"max-age=63072000; includeSubDomains"
COMMON = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)


def _is_loopback_address(host: object) -> bool:
    """A loopback IP; a Unix socket path (a proxy on this machine) counts as local too."""
    if not isinstance(host, str):
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host.startswith("/")


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def is_local_request(scope: Scope) -> bool:
    """From and to a loopback address, and not forwarded by a proxy."""
    client = scope.get("client")
    server = scope.get("server")
    if not client or not _is_loopback_address(client[0]):
        return False
    if server and not _is_loopback_address(server[0]):
        return False
    return not any(key in FORWARDED for key, _ in scope["headers"])


class SecurityHeadersMiddleware:
    """See the module docstring."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.dev = not settings.production_mode

    def _open(self, scope: Scope, public: bool | None) -> bool:
        if public is not None:
            return public
        return self.dev and is_local_request(scope)

    def _gate(self, scope: Scope) -> Response | None:
        """The answer refusing this request, if it must be refused."""
        path: str = scope["path"]
        server = scope.get("server")
        if self.dev and server and not _is_loopback_address(server[0]):
            return envelope(
                503, "insecure_configuration",
                "This server runs with dev settings (loopback and SQLite, secrets not checked) "
                "but answers on a non-loopback address. Set TILLSYNC_BIND_HOST to the address "
                "it listens on (or start it with `tillsync-server serve --host`) and give it "
                "real secrets (TILLSYNC_JWT_SECRET); see docs/server-deploy.md.")
        if path in DOC_PATHS and not self._open(scope, self.settings.public_docs):
            return envelope(404, "not_found", "Not Found")
        if path == METRICS_PATH:
            token = self.settings.metrics_token
            if token:
                sent = _header(scope, b"authorization") or b""
                if not hmac.compare_digest(sent, b"Bearer " + token.encode()):
                    return envelope(
                        401, "unauthorized", "/metrics needs the metrics bearer token "
                        "(TILLSYNC_METRICS_TOKEN)", headers={"WWW-Authenticate": "Bearer"})
            elif not self._open(scope, self.settings.public_metrics):
                return envelope(404, "not_found", "Not Found")
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = list(COMMON)
        extra.append((b"content-security-policy",
                      DOCS_CSP if scope["path"] in DOC_PAGES else API_CSP))
        if scope.get("scheme") == "https":
            extra.append((b"strict-transport-security", HSTS))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {key.lower() for key, _ in headers}
                headers += [(k, v) for k, v in extra if k not in present]
                if b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        refusal = self._gate(scope)
        if refusal is not None:
            await refusal(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)
