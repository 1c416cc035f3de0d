"""The rate limiter: count hits per key in fixed windows and say whether one more is allowed."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass


class RateLimiterError(Exception):
    """The backend failed; the caller decides whether to let the request through."""


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether this hit is allowed, and how long until the window resets."""

    allowed: bool
    retry_after: int


class RateLimiter(ABC):
    """Count a hit on ``key``; at most ``limit`` hits per ``window_seconds`` are allowed."""

    @abstractmethod
    async def hit(self, key: str, *, limit: int, window_seconds: int) -> Decision:
        """Record one hit and decide."""


def current_window(window_seconds: int, now: float | None = None) -> tuple[int, int]:
    """The index of the current window and the seconds left in it (at least 1)."""
    moment = time.time() if now is None else now
    index = int(moment // window_seconds)
    remaining = max(1, int((index + 1) * window_seconds - moment))
    return index, remaining
