"""Refuse malformed GraphQL requests before anything parses them, in the error format.

* Only ``application/json`` is accepted on ``POST /graphql``: forms, multipart and text
  bodies are "simple" cross-site requests a browser sends without a CORS preflight (CSRF).
* The body is limited to ``max_body_bytes`` (declared or streamed).
* The body must be one JSON object with a string ``query``: malformed JSON, JSON nested too
  deep for the parser (``RecursionError``) and batches (a JSON array) are refused here, with
  our error format, the request id and the headers, instead of Ariadne's plain-text answers.
* ``GET /graphql`` never executes anything: with a query string it is refused; without one
  it serves GraphiQL in development and is refused in production.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reference_api.domain.errors import BadUserInputError
from reference_api.metrics import Metrics
from reference_api.middleware.responses import error_response

BAD_INPUT = BadUserInputError.code


class _BodyTooLargeError(Exception):
    """The body is larger than allowed."""


class RequestGuardMiddleware:
    """Check method, content type, size and shape of requests to ``path``."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        metrics: Metrics,
        production: bool = True,
        path: str = "/graphql",
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.production = production
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        never_executed = self.production or scope.get("query_string")
        if scope["method"] in ("GET", "HEAD") and never_executed:
            await self._refuse(405, "send queries as POST application/json", scope, send)
            return
        if scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            await self._refuse(415, "send the request as application/json", scope, send)
            return
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            await self._too_large(scope, send)
            return
        try:
            body = await self._read_body(receive)
        except _BodyTooLargeError:
            await self._too_large(scope, send)
            return
        problem = _shape_problem(body)
        if problem is not None:
            await self._refuse(400, problem, scope, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _read_body(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise _BodyTooLargeError
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _too_large(self, scope: Scope, send: Send) -> None:
        message = f"the request body exceeds {self.max_body_bytes} bytes"
        await self._refuse(413, message, scope, send)

    async def _refuse(self, status: int, message: str, scope: Scope, send: Send) -> None:
        response = error_response(status, message, BAD_INPUT, metrics=self.metrics)
        await response(scope, _no_body, send)


async def _no_body() -> Message:  # the refused request's body is never read further
    return {"type": "http.disconnect"}


def _shape_problem(body: bytes) -> str | None:
    """Why ``body`` is not one GraphQL request, or ``None``."""
    try:
        data: Any = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: "[[[[..." thousands deep
        return "the request body is not valid JSON (or is nested too deeply)"
    if isinstance(data, list):
        return "send one operation per request: batching is not supported"
    if not isinstance(data, dict):
        return "the request body must be a JSON object"
    if not isinstance(data.get("query"), str):
        return "the request must have a 'query' string"
    if data.get("variables") is not None and not isinstance(data["variables"], dict):
        return "'variables' must be an object"
    if data.get("operationName") is not None and not isinstance(data["operationName"], str):
        return "'operationName' must be a string"
    return None
