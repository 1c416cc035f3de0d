"""Rate limiting in Redis: shared by every worker and instance of the service."""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from reference_api.ratelimit.interface import (
    Decision,
    RateLimiter,
    RateLimiterError,
    current_window,
)


class RedisRateLimiter(RateLimiter):
    """One counter key per window, ``INCR`` then ``EXPIRE`` in one round trip."""

    def __init__(self, client: aioredis.Redis, *, prefix: str) -> None:
        self._client = client
        self._prefix = prefix

    async def hit(self, key: str, *, limit: int, window_seconds: int) -> Decision:
        window, remaining = current_window(window_seconds)
        redis_key = f"{self._prefix}ratelimit:{key}:{window}"
        try:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.incr(redis_key)
                pipe.expire(redis_key, window_seconds + 1)
                count, _ = await pipe.execute()
        except RedisError as error:
            raise RateLimiterError(str(error)) from error
        return Decision(allowed=int(count) <= limit, retry_after=remaining)
