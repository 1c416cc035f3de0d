"""In-process rate limiting: correct for one process, which is what it is meant for."""

from __future__ import annotations

from reference_api.ratelimit.interface import Decision, RateLimiter, current_window

#: Forget finished windows once this many keys are tracked (bounded memory under attack).
PRUNE_ABOVE = 10_000


class MemoryRateLimiter(RateLimiter):
    """Counters in a dict; the event loop is single-threaded, so no lock is needed."""

    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, int]] = {}

    async def hit(self, key: str, *, limit: int, window_seconds: int) -> Decision:
        window, remaining = current_window(window_seconds)
        seen_window, count = self._counts.get(key, (window, 0))
        count = count + 1 if seen_window == window else 1
        if len(self._counts) > PRUNE_ABOVE:
            self._counts = {k: v for k, v in self._counts.items() if v[0] == window}
        self._counts[key] = (window, count)
        return Decision(allowed=count <= limit, retry_after=remaining)
