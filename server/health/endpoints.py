"""/health, /health/live, /health/ready (database reachable) and /metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from server.auth.deps import CtxDep
from server.errors import ApiError

router = APIRouter(tags=["health"])


@router.get("/health")
def health(ctx: CtxDep) -> dict[str, object]:
    """Liveness plus a database check, for people and simple monitors."""
    return {"status": "ok", "database": _db_ok(ctx)}


@router.get("/health/live")
def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/health/ready")
def ready(ctx: CtxDep) -> dict[str, str]:
    """Ready when the database answers; 503 otherwise."""
    if not _db_ok(ctx):
        raise ApiError(503, "not_ready", "The database is not reachable")
    return {"status": "ready"}


@router.get("/metrics", include_in_schema=False)
def metrics(ctx: CtxDep) -> Response:
    return Response(generate_latest(ctx.metrics.registry), media_type=CONTENT_TYPE_LATEST)


def _db_ok(ctx: CtxDep) -> bool:
    try:
        with ctx.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
