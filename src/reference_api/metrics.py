"""Prometheus metrics of one application instance (its own registry, served at /metrics).

Operation names come from clients, so they are sanitised and capped before becoming label
values: an attacker sending random names must not grow the label set without bound.
"""

from __future__ import annotations

import re

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool

MAX_OPERATION_LABELS = 200
OTHER_OPERATION = "other"
ANONYMOUS_OPERATION = "anonymous"
_OPERATION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")

#: Seconds; from a cached ``me`` to a slow complex list.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 2.5, 5.0)


class Metrics:
    """The service's metrics, on a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.request_duration = Histogram(
            "graphql_request_duration_seconds",
            "Time to answer a GraphQL request, by operation name.",
            ["operation"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.http_responses = Counter(
            "http_responses_total",
            "HTTP responses, by route and status code.",
            ["route", "status"],
            registry=self.registry,
        )
        self.errors = Counter(
            "graphql_errors_total",
            "GraphQL errors returned to clients, by extensions.code.",
            ["code"],
            registry=self.registry,
        )
        self.pool_connections = Gauge(
            "db_pool_connections",
            "Database connections of the pool, by state (size, checked_out, overflow).",
            ["state"],
            registry=self.registry,
        )
        self._operations: set[str] = set()

    def operation_label(self, name: str | None) -> str:
        """A bounded label value for a client-chosen operation name."""
        if not name:
            return ANONYMOUS_OPERATION
        if not _OPERATION_NAME.match(name):
            return OTHER_OPERATION
        if name not in self._operations:
            if len(self._operations) >= MAX_OPERATION_LABELS:
                return OTHER_OPERATION
            self._operations.add(name)
        return name

    def watch_pool(self, engine: AsyncEngine) -> None:
        """Report the engine's pool usage at every scrape."""
        pool = engine.sync_engine.pool
        if not isinstance(pool, QueuePool):  # pragma: no cover - create_engine makes a QueuePool
            return
        self.pool_connections.labels(state="size").set_function(pool.size)
        self.pool_connections.labels(state="checked_out").set_function(pool.checkedout)
        self.pool_connections.labels(state="overflow").set_function(lambda: max(pool.overflow(), 0))
