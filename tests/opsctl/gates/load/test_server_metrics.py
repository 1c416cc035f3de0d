"""Server-side P95 from the difference of two /metrics scrapes."""

from __future__ import annotations

import pytest

from opsctl.load.server_metrics import ALL, parse_buckets, window_count, window_quantiles


def exposition(counts: dict[str, list[int]]) -> str:
    bounds = ["0.1", "0.2", "0.5", "+Inf"]
    lines = ["# TYPE http_request_duration_seconds histogram"]
    for operation, cumulative in counts.items():
        for bound, count in zip(bounds, cumulative, strict=True):
            lines.append(
                f'http_request_duration_seconds_bucket{{method="POST",operation="{operation}",'
                f'le="{bound}"}} {count}'
            )
    lines.append('other_metric_bucket{le="0.1"} 99')
    return "\n".join(lines)


def test_window_quantile_ignores_what_happened_before_the_window() -> None:
    before = parse_buckets(
        exposition({"Me": [1000, 1000, 1000, 1000]}), "http_request_duration_seconds"
    )
    after = parse_buckets(
        exposition({"Me": [1000, 1050, 1100, 1100]}), "http_request_duration_seconds"
    )
    p95 = window_quantiles(before, after)
    # 100 window requests: 50 in (0.1, 0.2], 50 in (0.2, 0.5]; rank 95 is 90 % into the last bucket
    assert p95["Me"] == pytest.approx(470.0)
    assert p95[ALL] == pytest.approx(470.0)


def test_no_samples_in_the_window_gives_no_value() -> None:
    same = parse_buckets(exposition({"Me": [5, 5, 5, 5]}), "http_request_duration_seconds")
    assert window_quantiles(same, same) == {}


def test_the_window_count_sums_every_operation_between_the_scrapes() -> None:
    metric = "http_request_duration_seconds"
    before = parse_buckets(exposition({"Me": [5, 5, 5, 5], "LogIn": [0, 0, 1, 1]}), metric)
    after = parse_buckets(exposition({"Me": [5, 50, 60, 70], "LogIn": [0, 0, 9, 9]}), metric)
    assert window_count(before, after) == 73  # 65 Me and 8 LogIn
    assert window_count(before, before) == 0
