"""The server's OpenAPI schema, complete enough to write a client from it alone.

FastAPI derives paths, parameters and bodies from the routes; this module adds what it
cannot see (:func:`install` replaces ``app.openapi``, the wire is unchanged):

- every sync operation's payload schema in ``components.schemas``, the map of op type to
  payload (``x-op-payloads`` on ``Operation``) and ``OperationByType``, a ``oneOf`` of
  the operation per type with its payload (discriminated by ``type``);
- the bearer security schemes (a staff member's access token, a terminal's token) and
  the scheme each operation needs;
- every error status an operation can answer, each with the real error envelope
  (``ErrorEnvelope``), and the 422 body as the envelope the server really sends
  (``ValidationErrorEnvelope``, in place of FastAPI's ``HTTPValidationError``);
- the permission table (role x action), token rotation, the reference format and the
  limits in ``info.description``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi import routing as fastapi_routing
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema

from app.domain import limits
from app.domain.feed_states import STATE_MODELS
from app.domain.operations import CATALOGUE, OpSpec
from app.domain.permissions import PERMISSIONS, Action, Role
from server.auth.deps import current_staff, current_terminal, pushing_terminal, terminal_if_any
from sync.protocol import Change, ErrorBody, ErrorEnvelope, Operation, OpType

REF = "#/components/schemas/{model}"

#: The payload of each operation type, as the server reads it (the catalogue's).
OP_PAYLOADS: dict[OpType, type[BaseModel]] = {t: spec.payload for t, spec in CATALOGUE.items()}


class ValidationProblem(BaseModel):
    """One thing wrong with a request (an item of a 422's ``details``)."""

    loc: list[str] = Field(description="where: body, query, path or header, then the field")
    msg: str
    type: str = Field(description="pydantic's error type, e.g. missing, less_than_equal")


class ValidationErrorBody(ErrorBody):
    details: list[ValidationProblem] | dict[str, Any] | None = None


class ValidationErrorEnvelope(BaseModel):
    """HTTP 422: ``code`` is ``validation_error`` (the body, a parameter or the path does
    not fit the schema; ``details`` lists each problem) or a rule's own code
    (``invalid_value``, ``rejected``, ``org_required``) with its message."""

    error: ValidationErrorBody


STAFF = "staffBearer"
TERMINAL = "terminalBearer"
SECURITY_SCHEMES = {
    STAFF: {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": "A staff member's access token from `POST /auth/login` (valid "
        "`expires_in` seconds; renew with `POST /auth/refresh`).",
    },
    TERMINAL: {
        "type": "http", "scheme": "bearer", "bearerFormat": "tt_…",
        "description": "An enrolled terminal's token (`terminal_token` of "
        "`POST /terminals/enroll`, starts with `tt_`; it does not expire, an admin "
        "revokes it).",
    },
}

#: Each error status: what it means and the codes that come with it.
STATUS_TEXT: dict[int, str] = {
    400: "`invalid_enrollment_code` (wrong, used or expired one-time code), "
         "`invalid_page_token` (a snapshot page token this server did not make)",
    401: "`unauthorized` (no bearer token), `invalid_token` (expired, revoked, unknown, or "
         "the wrong kind: a staff token where a terminal token is needed or the reverse), "
         "`invalid_credentials`, `invalid_refresh_token`, `refresh_token_reused`",
    403: "`permission_denied`: the signed-in role may not do this (`details.role`, "
         "`details.action`; see the permission table); `forbidden`; `above_ceiling` "
         "(`POST /auth/login` with a till's token, for a role above that till's ceiling); "
         "`other_organization` (`POST /auth/login` with the token of another "
         "organization's till); "
         "`store_scope` (a `store_id` named by the request, on `/offline-orders`, "
         "`/approvals`, `/conflicts`, `/analytics`, `/attention` or `/sync/quarantine`, "
         "of a store whose tills the person does not work on; `details.store_id`; an owner "
         "or admin reaches every store, and a record of a store out of scope, looked up by "
         "its id, is 404); `above_limit`: an order, an edit, a refund or a "
         "refund request past the caller's till limits (`details.limit`, `details.allowed`, "
         "`details.asked`, `details.breaches`)",
    404: "`not_found`: no such entity in the caller's organization (another "
         "organization's ids are not found either), or a store's record (an order, an "
         "approval request, an order's conflict, a quarantined operation) of a store "
         "whose tills the person does not work on (an owner or admin reaches every store)",
    409: "`conflict` (a field changed since its base; `details.conflict_id`), `exists` (the "
         "id is taken), `code_taken` (staff code in use), `not_deletable`, "
         "`already_decided`, `cannot_resolve`, `not_open`, `no_store`, `currency_in_use` (a store "
         "that has sold keeps its currency; `details.currency`)",
    410: "`cursor_expired`: the feed was compacted past the cursor (`details.horizon`); "
         "load a snapshot",
    413: "`too_large`: the body is over the server's limit (`details.max_bytes`)",
    422: "`validation_error` (the request does not fit the schema, or its body is not "
         "JSON or not UTF-8: `type` `json_invalid`; `details` lists each problem) or a rule's code: `invalid_value` (a value the domain rules refuse, "
         "`details.field`), `rejected`, `org_required`",
    423: "`account_locked`: too many failed sign-ins (`details.retry_after_s`, "
         "header `Retry-After`)",
    429: "`rate_limited`: too many requests from this token or address; wait "
         "`Retry-After` seconds (`details.retry_after_s`)",
    503: "`unavailable`: the database stayed busy through the server's retries (a deadlock, "
         "a lock timeout) and nothing was written, or the server is shutting down: resend "
         "the same request after `Retry-After` seconds; `not_ready` (`/health/ready`): the "
         "database is not reachable",
}

#: Routes whose answers the rate limiter never touches (server/middleware.py EXEMPT).
RATE_EXEMPT = ("/health", "/metrics")
#: Routes that authenticate inside the handler rather than through a dependency.
TERMINAL_ROUTES = {("POST", "/sync/push")}
#: Extra statuses of routes whose services answer them.
EXTRA: dict[tuple[str, str], tuple[int, ...]] = {
    ("POST", "/auth/login"): (401, 423),
    ("POST", "/auth/refresh"): (401,),
    ("POST", "/terminals/enroll"): (400, 409),  # 409 no_device_code: all given out
    ("POST", "/terminals/enrollment-codes"): (404,),
    ("POST", "/stores"): (409,),
    ("PATCH", "/stores/{store_id}"): (409,),  # currency_in_use
    ("POST", "/staff"): (409,),
    ("GET", "/sync/snapshot"): (400, 410),
    ("GET", "/sync/pull"): (410,),
    ("GET", "/health/ready"): (503,),
    ("POST", "/sync/compact"): (404,),
    ("POST", "/offline-orders"): (404, 409),
    ("POST", "/products"): (404, 409),
    # ?store_id= of a store not in the caller's organization (server/tenancy/scope.py)
    ("GET", "/analytics/summary"): (404,),
    ("GET", "/analytics/offline-orders"): (404,),
    ("GET", "/offline-orders"): (404,),
    ("GET", "/approvals"): (404,),
    ("GET", "/conflicts"): (404,),
}


def _calls(dependant: Dependant) -> set[Callable[..., Any]]:
    found: set[Callable[..., Any]] = set()
    for dep in dependant.dependencies:
        if dep.call is not None:
            found.add(dep.call)
        found |= _calls(dep)
    return found


def api_routes(app: FastAPI) -> Iterator[tuple[str, str, APIRoute]]:
    """(method, full path, route) of every operation of the app, through included
    routers (FastAPI keeps those nested since 0.16x)."""
    contexts = getattr(fastapi_routing, "iter_route_contexts", None)
    if contexts is None:  # older FastAPI: app.routes holds the APIRoutes themselves
        for route in app.routes:
            if isinstance(route, APIRoute):
                for method in route.methods or ():
                    yield method, route.path_format, route
        return
    for ctx in contexts(app.routes):
        route = ctx.original_route
        if isinstance(route, APIRoute) and ctx.path_format:
            for method in ctx.methods or ():
                yield method, ctx.path_format, route


def _params(dependant: Dependant, kind: str) -> list[Any]:
    """The ``kind`` (``query_params``, ``path_params``) fields of a dependant and of every
    dependency under it: a route can read its query through a dependency (``Depends``)."""
    found = list(getattr(dependant, kind))
    for dep in dependant.dependencies:
        found += _params(dep, kind)
    return found


def _auth(route: APIRoute, method: str, path: str) -> str | None:
    """The token an operation needs: STAFF, TERMINAL, "optional-terminal" or None."""
    calls = _calls(route.dependant)
    if current_staff in calls:
        return STAFF
    if current_terminal in calls or pushing_terminal in calls or \
            (method, path) in TERMINAL_ROUTES:
        return TERMINAL
    if "terminal_if_any" in _source(route) or terminal_if_any in calls:
        return "optional-terminal"
    return None


def _source(route: APIRoute) -> str:
    try:
        return inspect.getsource(route.endpoint)
    except (OSError, TypeError):
        return ""


def _statuses(route: APIRoute, method: str, path: str, auth: str | None) -> set[int]:
    """Every error status the operation can answer."""
    out: set[int] = set()
    path_params = _params(route.dependant, "path_params")
    has_input = bool(_params(route.dependant, "query_params") or path_params
                     or _params(route.dependant, "header_params")
                     or route.dependant.body_params or route.body_field is not None)
    if has_input:
        out.add(422)
    if route.body_field is not None:
        out.add(400)  # a body that is not JSON
    if route.body_field is not None or method in ("POST", "PATCH", "PUT"):
        out.add(413)
    if not path.startswith(RATE_EXEMPT):
        out.add(429)
    if method != "GET":
        out.add(503)  # a write the database kept rolling back
    if auth in (STAFF, TERMINAL):
        out.add(401)
    if auth == STAFF:
        if "require(" in _source(route):
            out.add(403)
        if route.body_field is not None or path_params:
            out.add(404)
        if method in ("POST", "PATCH", "DELETE", "PUT") and path_params:
            out.add(409)
    elif path_params:
        out.add(404)
    out.update(EXTRA.get((method, path), ()))
    return out


def _models(*models: type[BaseModel]) -> dict[str, Any]:
    _, top = models_json_schema([(m, "validation") for m in models], ref_template=REF)
    defs: dict[str, Any] = top.get("$defs", {})
    return defs


def _error_response(status: int, ref: str) -> dict[str, Any]:
    return {"description": STATUS_TEXT.get(status, "error"),
            "content": {"application/json": {"schema": {"$ref": ref}}}}


def _discriminated(schemas: dict[str, Any], base: str, key: str, inner: str,
                   variants: dict[str, tuple[type[BaseModel], str]], description: str) -> None:
    """``<base>ByType``: a ``oneOf`` of ``base`` per value of its ``key`` field, each with
    the schema of its ``inner`` field (an op's payload, a change's data), and the map of
    value to schema as ``x-<inner>-schemas`` on ``base``."""
    refs, mapping = [], {}
    for value, (model, words) in variants.items():
        name = f"{base}_" + value.replace(".", "_")
        schemas[name] = {
            "title": f"{value} {base.lower()}", "description": words,
            "allOf": [{"$ref": REF.format(model=base)}, {
                "type": "object",
                "properties": {key: {"const": value, "type": "string"},
                               inner: {"$ref": REF.format(model=model.__name__)}},
            }],
        }
        refs.append({"$ref": REF.format(model=name)})
        mapping[value] = REF.format(model=name)
    schemas[f"{base}ByType"] = {
        "title": f"{base}ByType", "description": description,
        "oneOf": refs, "discriminator": {"propertyName": key, "mapping": mapping},
    }
    schemas.setdefault(base, {})[f"x-{inner}-schemas"] = {
        value: REF.format(model=model.__name__) for value, (model, _) in variants.items()}


def _operation_by_type(schemas: dict[str, Any]) -> None:
    """``OperationByType``: per op type, the Operation with its payload's schema
    (``Operation.x-op-payloads`` maps type to payload, as it always has)."""
    _discriminated(schemas, "Operation", "type", "payload", {
        t.value: (spec.payload, f"`entity_id` is {spec.entity_id_is}.")
        for t, spec in CATALOGUE.items()},
        "An Operation as the server reads it: the payload's shape follows `type`. On the "
        "wire every operation is an `Operation` (PushRequest.operations).")
    operation = schemas["Operation"]
    operation["x-op-payloads"] = operation.pop("x-payload-schemas")
    payload = operation.get("properties", {}).get("payload")
    if isinstance(payload, dict):
        payload["description"] = ("The intent's data; its schema depends on `type` "
                                  "(see `x-op-payloads` and `OperationByType`).")


def _op_row(spec: OpSpec) -> str:
    actions = spec.permission.actions_for(None)
    permission = " or ".join(f"`{a.value}`" for a in actions)
    if spec.permission.by_field:
        permission = "by `{}`: {}".format(spec.permission.by_field, ", ".join(
            f"{k} `{a.value}`" for k, a in spec.permission.by_value.items()))
    privileged = ("yes" if spec.privileged else
                  "when it changes " + ", ".join(sorted(spec.privileged_fields))
                  if spec.privileged_fields else "no")
    return (f"| `{spec.type.value}` | {spec.entity_id_is} | `{spec.payload.__name__}` | "
            f"{permission} | {spec.conflicts.value} | {spec.scope.value} | {privileged} |")


def _change_by_type(schemas: dict[str, Any]) -> None:
    """``ChangeByType``: per feed entity type, the Change with its state's schema
    (``Change.x-entity-states`` maps entity type to state)."""
    _discriminated(schemas, "Change", "entity_type", "data", {
        e.value: (m, (m.__doc__ or "").split("\n")[0]) for e, m in STATE_MODELS.items()},
        "A Change as a client reads it: the shape of `data` follows `entity_type`. On the "
        "wire every change is a `Change`.")
    change = schemas["Change"]
    change["x-entity-states"] = change.pop("x-data-schemas")


def permission_table() -> str:
    """Role x action as a Markdown table (✓: allowed), from app/domain/permissions.py."""
    roles = list(Role)
    head = "| action | " + " | ".join(r.value for r in roles) + " |"
    rule = "|---|" + "---|" * len(roles)
    rows = ["| `" + a.value + "` | " + " | ".join("✓" if a in PERMISSIONS[r] else "–"
                                                  for r in roles) + " |" for a in Action]
    return "\n".join([head, rule, *rows])


def description() -> str:
    ops = "\n".join(_op_row(spec) for spec in CATALOGUE.values())
    states = "\n".join(f"| `{e.value}` | `{m.__name__}` |" for e, m in STATE_MODELS.items())
    statuses = "\n".join(f"| {s} | {text} |" for s, text in sorted(STATUS_TEXT.items()))
    return f"""Central server of Tillsync: tenancy, auth, sync push/pull, back office.
A step-by-step guide is docs/client-guide.md; the sync protocol is docs/sync-protocol.md.

## Authentication

Two bearer tokens (`Authorization: Bearer <token>`); each operation names the one it
needs (`security`):

- **terminalBearer**: `POST /terminals/enroll` with a one-time enrollment code returns
  `terminal_token` (`tt_…`). It never expires; an admin revokes it. Sync
  (`/sync/push`, `/sync/pull`, `/sync/snapshot`) and `/terminals/me` take it.
- **staffBearer**: `POST /auth/login` with `staff_id`, or with the staff `code` people type
  (`1001`) and `org_id` — at a till the till's terminal token names the organization
  instead — and a `pin` or `password`. It returns an access token (JWT, `expires_in`
  seconds) and a refresh token. Five wrong secrets in a row lock the account for five
  minutes (423 `account_locked`).
- **Refresh rotation**: `POST /auth/refresh` with the refresh token returns a new pair and
  marks the old refresh token used. Presenting a used refresh token again is taken as
  theft: every token of that sign-in (the family) is revoked and the answer is 401
  `refresh_token_reused`. `POST /auth/logout` revokes the family; `POST /auth/revoke-all`
  revokes every refresh token of the person and invalidates their access tokens.

## Errors

Every error has one body, `ErrorEnvelope`:
`{{"error": {{"code", "message", "request_id", "details"}}}}`; `request_id` is also the
`X-Request-ID` header. `code` is stable (program against it), `message` is for people.

| status | codes |
|---|---|
{statuses}

## Permissions (role × action)

{permission_table()}

## Sync operations

A push carries `Operation`s; the `payload` of each depends on `type`. The catalogue of
operation types (app/domain/operations.py) declares, per type: the payload, what
`entity_id` names, the permission the actor needs, how it can conflict (`never`: a new
fact; `fields`: per-field `{{base, value}}` edits; `state`: a decision on the whole
entity), whose feed it is written to (`store` or every store of the `org`), and whether
it is privileged (the approver's proof, `approval_proof`, is checked).

| type | entity_id | payload schema | permission | conflicts | feed | privileged |
|---|---|---|---|---|---|---|
{ops}

## Change feed states

Each `Change` of `GET /sync/pull` and `GET /sync/snapshot` carries the whole state of one
entity as `data`; its schema depends on `entity_type` (`Change.x-entity-states`,
`ChangeByType`). Clients ignore keys they do not know.

| entity_type | data schema |
|---|---|
{states}

## Order references

`GO-` + the terminal's two-character device code (given at enrollment) + its own counter
in at least four characters, all in Crockford base 32 (`0-9 A-Z` without I, L, O, U):
`GO-7K0042`. Pattern `^GO-[0-9A-HJKMNP-TV-Z]{{2}}[0-9A-HJKMNP-TV-Z]{{4,}}$`, at most
{limits.MAX_REFERENCE} characters. The code `ZZ` is the server's own, for orders made over
REST.

## Limits

Money is an integer of minor units, at most {limits.MAX_AMOUNT:,}; quantities are
thousandths (`qty_milli`), at most {limits.MAX_QTY_MILLI:,}; rates are parts per million
(at most {limits.MAX_PPM:,}, 100 %). Ids are UUIDs ({limits.ID_LENGTH} characters). A REST
list takes `offset` up to {limits.MAX_OFFSET:,} and `limit` up to {limits.MAX_PAGE}. Each
field's own bound is in its schema.
"""


def build(app: FastAPI) -> dict[str, Any]:
    spec = get_openapi(title=app.title, version=app.version, description=description(),
                       routes=app.routes, tags=app.openapi_tags)
    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name, schema in _models(ErrorEnvelope, ValidationErrorEnvelope, Operation, Change,
                                *OP_PAYLOADS.values(), *STATE_MODELS.values()).items():
        schemas.setdefault(name, schema)
    _operation_by_type(schemas)
    _change_by_type(schemas)
    components["securitySchemes"] = SECURITY_SCHEMES
    envelope = REF.format(model="ErrorEnvelope")
    invalid = REF.format(model="ValidationErrorEnvelope")
    by_path = {(m, p): r for m, p, r in api_routes(app)}
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            route = by_path.get((method.upper(), path))
            if route is None:
                continue
            auth = _auth(route, method.upper(), path)
            if auth in (STAFF, TERMINAL):
                op["security"] = [{auth: []}]
            elif auth == "optional-terminal":
                op["security"] = [{}, {TERMINAL: []}]
            else:
                op["security"] = []
            responses = op.setdefault("responses", {})
            for status in sorted(_statuses(route, method.upper(), path, auth)):
                ref = invalid if status == 422 else envelope
                answer = responses.setdefault(str(status), _error_response(status, ref))
                content = answer.setdefault("content", {}).setdefault("application/json", {})
                schema = content.get("schema") or {}
                if "$ref" not in schema or schema["$ref"].endswith("/HTTPValidationError"):
                    content["schema"] = {"$ref": ref}
                if answer.get("description") in (None, "", "Validation Error"):
                    answer["description"] = STATUS_TEXT.get(status, "error")
    # RawOperation is how the server reads an op it must refuse; it is no part of the
    # published contract (PushRequest lists Operation items).
    for name in ("HTTPValidationError", "ValidationError", "RawOperation"):
        schemas.pop(name, None)
    return spec


def install(app: FastAPI) -> None:
    """Serve :func:`build`'s schema at /openapi.json (built once, on first request)."""
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
