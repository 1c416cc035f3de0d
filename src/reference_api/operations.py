"""Operational endpoints: ``/healthz`` (alive), ``/readyz`` (can serve), ``/metrics``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import cache
from pathlib import Path

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.exc import DBAPIError, ProgrammingError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from reference_api.metrics import Metrics
from reference_api.state import AppState

MIGRATIONS_DIRECTORY = Path(__file__).resolve().parent / "migrations"
READINESS_TIMEOUT_SECONDS = 5.0


@cache
def migration_heads() -> frozenset[str]:
    """The head revisions of the migrations shipped with this code."""
    return frozenset(ScriptDirectory(str(MIGRATIONS_DIRECTORY)).get_heads())


async def healthz(_: Request) -> Response:
    """The process answers (no dependency is checked: restarting would not fix them)."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """The database answers and is migrated to this code's head; else 503 with the reasons."""
    services: AppState = request.app.state.services
    reasons = await _readiness_problems(services)
    if reasons:
        return JSONResponse({"status": "unavailable", "reasons": reasons}, status_code=503)
    return JSONResponse({"status": "ready"})


async def _readiness_problems(services: AppState) -> list[str]:
    heads = migration_heads()
    try:
        async with asyncio.timeout(READINESS_TIMEOUT_SECONDS):
            async with services.engine.connect() as connection:
                versions = set(
                    (
                        await connection.execute(sa.text("SELECT version_num FROM alembic_version"))
                    ).scalars()
                )
    except ProgrammingError:
        return ["database not migrated: no alembic_version table (run: alembic upgrade head)"]
    except (DBAPIError, OSError, TimeoutError) as error:
        return [f"database unreachable: {type(error).__name__}"]
    if versions != heads:
        return [
            f"database at revision {', '.join(sorted(versions)) or 'none'}, code expects "
            f"{', '.join(sorted(heads))} (run: alembic upgrade head)"
        ]
    return []


def metrics_endpoint(metrics: Metrics) -> Callable[[Request], Awaitable[Response]]:
    """``/metrics``: this process's registry, or every worker's in multiprocess mode."""

    async def serve(_: Request) -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    return serve
