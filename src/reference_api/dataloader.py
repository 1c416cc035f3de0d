"""A minimal DataLoader: gather the keys asked for in one event-loop turn, load them at once.

Resolvers of a list's items all run before the loop turns again, so ``load()`` calls for 50
tasks' assignees become one ``WHERE id IN (...)`` query instead of 50 (no N+1). Results are
cached for the loader's lifetime, which is one request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

BatchLoad = Callable[[Sequence[K]], Awaitable[Sequence[V]]]


class DataLoader(Generic[K, V]):
    """Batch and cache loads of ``V`` by key; ``batch_load`` returns values in key order."""

    def __init__(self, batch_load: BatchLoad[K, V]) -> None:
        self._batch_load = batch_load
        self._cache: dict[K, asyncio.Future[V]] = {}
        self._queue: list[tuple[K, asyncio.Future[V]]] = []
        self._running: set[asyncio.Task[None]] = set()

    def load(self, key: K) -> asyncio.Future[V]:
        """The value for ``key``, from the cache or the next batch."""
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        loop = asyncio.get_running_loop()
        future: asyncio.Future[V] = loop.create_future()
        self._cache[key] = future
        if not self._queue:
            # Two hops: resolvers woken in this turn may schedule more loads in the next one.
            loop.call_soon(loop.call_soon, self._dispatch)
        self._queue.append((key, future))
        return future

    async def load_many(self, keys: Sequence[K]) -> list[V]:
        """The values for ``keys``, in order, in one batch."""
        return list(await asyncio.gather(*(self.load(key) for key in keys)))

    def prime(self, key: K, value: V) -> None:
        """Store a value we already have (a mutation's result) so later loads see it."""
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        future.set_result(value)
        self._cache[key] = future

    def clear(self, key: K) -> None:
        """Forget ``key`` (a mutation deleted or changed it)."""
        self._cache.pop(key, None)

    def _dispatch(self) -> None:
        queue, self._queue = self._queue, []
        task = asyncio.create_task(self._run(queue))
        # Keep a reference: the event loop holds tasks only weakly.
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run(self, queue: list[tuple[K, asyncio.Future[V]]]) -> None:
        try:
            values = await self._batch_load([key for key, _ in queue])
            if len(values) != len(queue):
                raise RuntimeError("batch_load must return one value per key")
        except Exception as error:
            for key, future in queue:
                self._cache.pop(key, None)
                if not future.done():
                    future.set_exception(error)
            return
        for (_, future), value in zip(queue, values, strict=True):
            if not future.done():
                future.set_result(value)
