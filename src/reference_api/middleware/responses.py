"""Errors the middleware answers itself, in the same shape as GraphQL errors."""

from __future__ import annotations

from starlette.responses import JSONResponse

from reference_api.metrics import Metrics
from reference_api.middleware.request_context import request_id_var


def error_response(
    status_code: int,
    message: str,
    code: str,
    *,
    metrics: Metrics,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A GraphQL-shaped error answered by the middleware, counted like any other error."""
    metrics.errors.labels(code=code).inc()
    body = {
        "errors": [
            {"message": message, "extensions": {"code": code, "requestId": request_id_var.get()}}
        ]
    }
    return JSONResponse(body, status_code=status_code, headers=headers)
