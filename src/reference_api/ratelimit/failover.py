"""A limiter that falls back to another when its backend fails: for limits that must hold.

The password limits (``services.auth``) use Redis first and, when Redis errors or times
out, count in this process instead: weaker (per process) but never unthrottled.
"""

from __future__ import annotations

import logging

from reference_api.ratelimit.interface import Decision, RateLimiter, RateLimiterError

logger = logging.getLogger(__name__)


class FailoverRateLimiter(RateLimiter):
    """``primary`` while it answers, ``fallback`` when it raises ``RateLimiterError``."""

    def __init__(self, primary: RateLimiter, fallback: RateLimiter) -> None:
        self._primary = primary
        self._fallback = fallback

    async def hit(self, key: str, *, limit: int, window_seconds: int) -> Decision:
        try:
            return await self._primary.hit(key, limit=limit, window_seconds=window_seconds)
        except RateLimiterError as error:
            logger.warning("rate limiter unavailable, counting in this process: %s", error)
            return await self._fallback.hit(key, limit=limit, window_seconds=window_seconds)
