"""Rate limits on ``/graphql`` per client IP and per signed-in user (429 when exceeded).

``logIn`` has its own, stricter limit in ``services.auth`` (each aliased attempt counts).
If the limiter's backend is down we let requests through: the limits protect availability,
so they must not become the outage.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Receive, Scope, Send

from reference_api.metrics import Metrics
from reference_api.middleware.request_context import request_info
from reference_api.middleware.responses import error_response
from reference_api.ratelimit.interface import RateLimiter, RateLimiterError

logger = logging.getLogger(__name__)


class RateLimitMiddleware:
    """Count each GraphQL request against its IP and, if signed in, its user."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limiter: RateLimiter,
        per_ip: int,
        per_user: int,
        window_seconds: int,
        metrics: Metrics,
        path: str = "/graphql",
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.limiter = limiter
        self.per_ip = per_ip
        self.per_user = per_user
        self.window_seconds = window_seconds
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        info = request_info(scope)
        checks = [(f"ip:{info.client_ip}", self.per_ip)]
        if info.viewer_id is not None:
            checks.append((f"user:{info.viewer_id}", self.per_user))
        for key, limit in checks:
            try:
                decision = await self.limiter.hit(
                    key, limit=limit, window_seconds=self.window_seconds
                )
            except RateLimiterError as error:
                logger.warning("rate limiter unavailable, request let through: %s", error)
                break
            if not decision.allowed:
                response = error_response(
                    429,
                    "too many requests, slow down",
                    "RATE_LIMITED",
                    metrics=self.metrics,
                    headers={"Retry-After": str(decision.retry_after)},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
