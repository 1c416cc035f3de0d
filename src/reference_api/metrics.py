"""Prometheus metrics of the service, served at /metrics.

One process: the metrics live on a registry of their own. Several worker processes (uvicorn
``--workers N``) each have their own memory, so a registry per process would make /metrics
answer with whichever worker took the scrape: a sample of the traffic. With
``PROMETHEUS_MULTIPROC_DIR`` set, prometheus-client's multiprocess mode is used instead: every
process writes its values to files in that directory and a scrape merges the files of all of
them (histograms and counters summed, the pool gauges summed over the live processes).

Operation names come from clients, so they are sanitised and capped before becoming label
values: an attacker sending random names must not grow the label set without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool

MAX_OPERATION_LABELS = 200
OTHER_OPERATION = "other"
ANONYMOUS_OPERATION = "anonymous"
_OPERATION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")

#: Seconds; from a cached ``me`` to a slow complex list.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 2.5, 5.0)

#: Multiprocess mode cannot call a function at scrape time in the other workers, so each
#: worker writes its pool usage to its file this often.
POOL_REFRESH_SECONDS = 1.0
_LIVE_GAUGE_FILE = re.compile(r"^gauge_live[a-z]+_(\d+)\.db$")


class Metrics:
    """The service's metrics: its own registry, or every worker's files in multiprocess mode."""

    def __init__(self, multiprocess_directory: str | None = None) -> None:
        self.multiprocess_directory = multiprocess_directory
        self.registry = CollectorRegistry(auto_describe=True)
        own: CollectorRegistry | None = self.registry
        if multiprocess_directory is not None:
            _require_multiprocess_values(multiprocess_directory)
            multiprocess.MultiProcessCollector(  # type: ignore[no-untyped-call]
                self.registry, path=multiprocess_directory
            )
            own = None  # the files are the registry; registering the metrics too doubles them
        self.request_duration = Histogram(
            "graphql_request_duration_seconds",
            "Time to answer a GraphQL request, by operation name.",
            ["operation"],
            buckets=LATENCY_BUCKETS,
            registry=own,
        )
        self.http_responses = Counter(
            "http_responses_total",
            "HTTP responses, by route and status code.",
            ["route", "status"],
            registry=own,
        )
        self.errors = Counter(
            "graphql_errors_total",
            "GraphQL errors returned to clients, by extensions.code.",
            ["code"],
            registry=own,
        )
        self.pool_connections = Gauge(
            "db_pool_connections",
            "Database connections of the pool, by state (size, checked_out, overflow).",
            ["state"],
            registry=own,
            multiprocess_mode="livesum",  # every live worker's pool, added up
        )
        self._operations: set[str] = set()
        self._pool: QueuePool | None = None

    @property
    def multiprocess(self) -> bool:
        return self.multiprocess_directory is not None

    def operation_label(self, name: str | None) -> str:
        """A bounded label value for a client-chosen operation name (the cap is per process)."""
        if not name:
            return ANONYMOUS_OPERATION
        if not _OPERATION_NAME.match(name):
            return OTHER_OPERATION
        if name not in self._operations:
            if len(self._operations) >= MAX_OPERATION_LABELS:
                return OTHER_OPERATION
            self._operations.add(name)
        return name

    @contextlib.asynccontextmanager
    async def watching_pool(self, engine: AsyncEngine) -> AsyncIterator[None]:
        """Report the engine's pool usage while the application runs.

        One process: read at every scrape. Multiprocess mode: written every
        ``POOL_REFRESH_SECONDS``, and this process's pool gauges are withdrawn when it stops
        (``mark_process_dead``: uvicorn has no hook in the parent for a worker's exit).
        """
        pool = engine.sync_engine.pool
        if not isinstance(pool, QueuePool):  # pragma: no cover - create_engine makes a QueuePool
            yield
            return
        self._pool = pool
        if not self.multiprocess:
            self.pool_connections.labels(state="size").set_function(pool.size)
            self.pool_connections.labels(state="checked_out").set_function(pool.checkedout)
            self.pool_connections.labels(state="overflow").set_function(
                lambda: max(pool.overflow(), 0)
            )
            yield
            return
        refresher = asyncio.create_task(self._refresh_pool_periodically())
        try:
            yield
        finally:
            refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await refresher
            self._pool = None
            multiprocess.mark_process_dead(  # type: ignore[no-untyped-call]
                os.getpid(), self.multiprocess_directory
            )

    def exposition(self) -> bytes:
        """The text exposition of /metrics."""
        if self.multiprocess:
            self._refresh_pool()
            self._forget_dead_processes()
        return generate_latest(self.registry)

    async def _refresh_pool_periodically(self) -> None:
        while True:
            self._refresh_pool()
            await asyncio.sleep(POOL_REFRESH_SECONDS)

    def _refresh_pool(self) -> None:
        pool = self._pool
        if pool is None:
            return
        self.pool_connections.labels(state="size").set(pool.size())
        self.pool_connections.labels(state="checked_out").set(pool.checkedout())
        self.pool_connections.labels(state="overflow").set(max(pool.overflow(), 0))

    def _forget_dead_processes(self) -> None:
        """Withdraw the pool gauges of workers that died without shutting down (killed)."""
        if self.multiprocess_directory is None:
            return  # one process, one registry: nobody else's gauges to withdraw
        for path in Path(self.multiprocess_directory).iterdir():
            match = _LIVE_GAUGE_FILE.match(path.name)
            if match is not None and not _alive(int(match.group(1))):
                multiprocess.mark_process_dead(  # type: ignore[no-untyped-call]
                    int(match.group(1)), self.multiprocess_directory
                )


def _require_multiprocess_values(directory: str) -> None:
    # prometheus-client chooses where values live once, when it is imported, from the
    # process environment: a directory given only to Settings would export nothing.
    if not getattr(values.ValueClass, "_multiprocess", False):
        raise RuntimeError(
            f"PROMETHEUS_MULTIPROC_DIR={directory} must be in the process environment before "
            "prometheus_client is imported"
        )


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True
