"""``histogram_quantile`` for runbook expressions: a quantile per label from Prometheus text.

The same estimate as PromQL's ``histogram_quantile`` over cumulative ``_bucket`` counters
(linear interpolation inside the bucket that holds the rank), computed on one scrape, so a
runbook can read "P95 per operation" from ``/metrics`` without a Prometheus server.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict

_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)\{(?P<labels>[^}]*)\}\s+(?P<value>\S+)")
_LABEL = re.compile(r'(?P<key>[a-zA-Z_][a-zA-Z0-9_]*)="(?P<value>(?:[^"\\]|\\.)*)"')


def histogram_quantile(text: str, metric: str, quantile: float, by: str) -> dict[str, float]:
    """``{label value: estimated quantile in the metric's unit}``; labels without samples are left
    out. A rank in the ``+Inf`` bucket reports the highest finite bound (as PromQL does)."""
    buckets: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match is None or match.group("name") != f"{metric}_bucket":
            continue
        labels = {m.group("key"): m.group("value") for m in _LABEL.finditer(match.group("labels"))}
        if by not in labels or "le" not in labels:
            continue
        bound = math.inf if labels["le"] == "+Inf" else float(labels["le"])
        buckets[labels[by]].append((bound, float(match.group("value"))))
    result: dict[str, float] = {}
    for key, points in buckets.items():
        points.sort()
        total = points[-1][1]
        if total <= 0:
            continue
        rank = quantile * total
        lower_bound, lower_count = 0.0, 0.0
        for bound, count in points:
            if count >= rank:
                if math.isinf(bound):
                    result[key] = lower_bound
                else:
                    width = count - lower_count
                    share = (rank - lower_count) / width if width else 1.0
                    result[key] = round(lower_bound + (bound - lower_bound) * share, 6)
                break
            lower_bound, lower_count = bound, count
    return result
