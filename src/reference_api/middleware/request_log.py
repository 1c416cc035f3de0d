"""The outermost middleware: request id, one JSON log line and the metrics of every request."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reference_api.metrics import Metrics
from reference_api.middleware.request_context import RequestInfo, new_request_id, request_id_var

logger = logging.getLogger("reference_api.access")

#: Routes with their own metric label; anything else is "other" (bounded label values).
KNOWN_ROUTES = frozenset({"/graphql", "/healthz", "/readyz", "/metrics"})


class RequestLogMiddleware:
    """Assign the request id (``X-Request-ID``), time the request, log it, record metrics."""

    def __init__(
        self, app: ASGIApp, *, metrics: Metrics, client_address: Callable[[Scope], str]
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.client_address = client_address

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id(Headers(scope=scope).get("x-request-id"))
        info = RequestInfo(request_id=request_id, client_ip=self.client_address(scope))
        scope.setdefault("state", {})["request_info"] = info
        token = request_id_var.set(request_id)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            duration = time.perf_counter() - started
            path: str = scope["path"]
            route = path if path in KNOWN_ROUTES else "other"
            if route == "/graphql":
                self.metrics.request_duration.labels(operation=info.operation).observe(duration)
            self.metrics.http_responses.labels(route=route, status=str(status)).inc()
            logger.info(
                "request",
                extra={
                    "fields": {
                        "method": scope["method"],
                        "path": route,
                        "operation": info.operation,
                        "status": status,
                        "durationMs": round(duration * 1000, 2),
                    }
                },
            )
            request_id_var.reset(token)
