"""Rate limits on ``/graphql`` per client address (IPv6 by /64) and per signed-in user.

Password attempts (``logIn``, ``signUp``) have their own, stricter limits in
``services.auth``, which fail closed. These general limits fail open: if the limiter's
backend is down (it answers within ``REDIS_TIMEOUT_SECONDS``) requests go through, because
the limits protect availability and must not become the outage.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Receive, Scope, Send

from reference_api.metrics import Metrics
from reference_api.middleware.request_context import request_info
from reference_api.middleware.responses import error_response
from reference_api.ratelimit.interface import RateLimiter, RateLimiterError
from reference_api.ratelimit.keys import address_bucket

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
        checks = [(f"ip:{address_bucket(info.client_ip)}", self.per_ip)]
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
