"""Refuse oversized and non-JSON GraphQL requests before anything parses them.

Only ``application/json`` is accepted on ``POST /graphql``: forms and multipart bodies are
"simple" cross-site requests a browser sends without a CORS preflight (CSRF).
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reference_api.metrics import Metrics
from reference_api.middleware.responses import error_response


class _BodyTooLargeError(Exception):
    """The body is larger than allowed."""


class RequestGuardMiddleware:
    """Limit the body to ``max_body_bytes`` (declared or streamed) and require JSON."""

    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, metrics: Metrics, path: str = "/graphql"
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            response = error_response(
                415, "send the request as application/json", "BAD_USER_INPUT", metrics=self.metrics
            )
            await response(scope, receive, send)
            return
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            await self._too_large(scope, receive, send)
            return
        try:
            body = await self._read_body(receive)
        except _BodyTooLargeError:
            await self._too_large(scope, receive, send)
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

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(
            413,
            f"the request body exceeds {self.max_body_bytes} bytes",
            "BAD_USER_INPUT",
            metrics=self.metrics,
        )
        await response(scope, receive, send)
