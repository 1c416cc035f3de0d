"""Server-side P95 from the service's Prometheus ``/metrics``, over the measured window.

The histogram's cumulative bucket counts are scraped when the window opens and when it
closes; the difference is the window's own histogram, so warm-up requests are excluded the same
way as on the client side. The quantile is interpolated inside its bucket (as PromQL's
``histogram_quantile`` does), so it is only as exact as the service's buckets. Series are
grouped by their ``operation`` label when the service has one; ``(all)`` sums every series.

A service with several worker processes must merge them in ``/metrics`` (prometheus-client's
multiprocess mode; opsctl sets ``PROMETHEUS_MULTIPROC_DIR`` for the service it starts on
local); otherwise a scrape shows the worker that answered it. The note says how many requests
the server counted in the window, to compare with the client's ``n``.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict

ALL = "(all)"
OPERATION_LABELS = ("operation", "operation_name", "operationName")
_SAMPLE = re.compile(
    r"^(?P<name>[A-Za-z_:][A-Za-z0-9_:]*)(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)"
)
_LABEL = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"')

# group -> upper bound -> cumulative count
Buckets = dict[str, dict[float, float]]


def parse_buckets(text: str, metric: str) -> Buckets:
    """The ``<metric>_bucket`` series of a Prometheus text exposition, grouped by operation."""
    grouped: Buckets = defaultdict(lambda: defaultdict(float))
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match is None or match.group("name") != f"{metric}_bucket":
            continue
        labels = dict(_LABEL.findall(match.group("labels") or ""))
        if "le" not in labels:
            continue
        try:
            bound = math.inf if labels["le"] in ("+Inf", "Inf") else float(labels["le"])
            value = float(match.group("value"))
        except ValueError:
            continue
        operation = next((labels[key] for key in OPERATION_LABELS if key in labels), None)
        grouped[ALL][bound] += value
        if operation is not None:
            grouped[operation][bound] += value
    return {group: dict(buckets) for group, buckets in grouped.items()}


def window_quantiles(before: Buckets, after: Buckets, quantile: float = 0.95) -> dict[str, float]:
    """Quantile in milliseconds of each group's requests between the two scrapes."""
    result: dict[str, float] = {}
    for group, buckets in after.items():
        earlier = before.get(group, {})
        delta = sorted((bound, count - earlier.get(bound, 0.0)) for bound, count in buckets.items())
        value = _quantile(delta, quantile)
        if value is not None:
            result[group] = round(value * 1000.0, 3)
    return result


def window_count(before: Buckets, after: Buckets) -> int:
    """Requests the server counted between the two scrapes (all operations)."""
    total = after.get(ALL, {}).get(math.inf, 0.0) - before.get(ALL, {}).get(math.inf, 0.0)
    return round(total)


def _quantile(cumulative: list[tuple[float, float]], quantile: float) -> float | None:
    if not cumulative or cumulative[-1][1] <= 0:
        return None
    total = cumulative[-1][1]
    rank = quantile * total
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in cumulative:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound  # PromQL returns the highest finite bound here
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (
                count - lower_count
            )
        lower_bound, lower_count = bound, count
    return None


class MetricsScraper:
    """Scrapes ``/metrics`` at the window's start and end (called from the launcher's timer)."""

    def __init__(self, base_url: str, metric: str) -> None:
        self.url = base_url.rstrip("/") + "/metrics"
        self.metric = metric
        self.snapshots: dict[str, Buckets] = {}
        self.errors: list[str] = []

    def __call__(self, event: str) -> None:
        import httpx

        try:
            response = httpx.get(self.url, timeout=5.0)
            response.raise_for_status()
        except httpx.HTTPError as error:
            self.errors.append(f"{self.url}: {error}")
            return
        self.snapshots[event] = parse_buckets(response.text, self.metric)

    def p95_ms(self) -> tuple[dict[str, float], str]:
        """Server-side P95 per operation, and a note saying where it came from or why not."""
        if "start" not in self.snapshots or "end" not in self.snapshots:
            return {}, "no server-side P95: " + ("; ".join(self.errors) or "scrape missing")
        values = window_quantiles(self.snapshots["start"], self.snapshots["end"])
        if not values:
            return {}, f"no server-side P95: {self.url} has no '{self.metric}' histogram samples"
        counted = window_count(self.snapshots["start"], self.snapshots["end"])
        return values, (
            f"server-side P95 from {self.url} ({self.metric}), window deltas of {counted} requests"
        )
