"""The last resort: an exception that escapes the app becomes a 500 in the error format.

Starlette's own ``ServerErrorMiddleware`` is outermost, outside our request-id, log and
security-header middleware, and answers in plain text. This middleware sits inside them, so
even a bug answers with ``X-Request-ID``, the headers and ``INTERNAL_SERVER_ERROR`` (the
message never says what failed; the log line does, with the traceback as JSON).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reference_api.domain.errors import BadUserInputError, NotFoundError
from reference_api.metrics import Metrics
from reference_api.middleware.responses import error_response

logger = logging.getLogger("reference_api.errors")

INTERNAL = "INTERNAL_SERVER_ERROR"


class ErrorShieldMiddleware:
    """Turn unhandled exceptions into the error format (when nothing was sent yet)."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as error:
            logger.error("unhandled error: %s", type(error).__name__, exc_info=error)
            if started:  # the status line is out: nothing better can be sent
                return
            response = error_response(500, "Internal server error", INTERNAL, metrics=self.metrics)
            await response(scope, receive, send)


def http_error_handler(metrics: Metrics) -> Callable[[Request, Exception], Awaitable[Response]]:
    """A Starlette handler for routing errors (404, 405): the error format, not plain text."""

    async def handle(_request: Request, error: Exception) -> Response:
        status = error.status_code if isinstance(error, HTTPException) else 500
        code = NotFoundError.code if status == 404 else BadUserInputError.code
        if status >= 500:
            code = INTERNAL
        message = "no such route" if status == 404 else "this method is not allowed here"
        headers = dict(error.headers or {}) if isinstance(error, HTTPException) else None
        return error_response(status, message, code, metrics=metrics, headers=headers)

    return handle
