"""Merging generators' histograms is exact: the same as recording every sample in one place."""

from __future__ import annotations

import json
import random

from opsctl.load.histograms import RunData


def test_merged_serialized_histograms_equal_one_histogram_of_all_samples() -> None:
    rng = random.Random(7)
    samples = [rng.lognormvariate(3, 1) for _ in range(3000)]
    whole = RunData(duration_s=1)
    parts = [RunData(duration_s=1) for _ in range(3)]
    for index, latency_ms in enumerate(samples):
        for target in (whole, parts[index % 3]):
            target.operation("Me").record(latency_ms * 1000, latency_ms * 500, second=0, error=None)
    merged = RunData(duration_s=1)
    for part in parts:  # through JSON, as they travel from the generator processes
        merged.merge(RunData.from_json(json.loads(json.dumps(part.to_json()))))
    for percentile in (50, 90, 95, 99, 99.9, 100):
        assert merged.operations["Me"].percentile_ms(percentile) == (
            whole.operations["Me"].percentile_ms(percentile)
        )
    assert merged.operations["Me"].count == 3000


def test_three_significant_digits() -> None:
    data = RunData(duration_s=1)
    data.operation("Me").record(199_500, 199_500, second=0, error=None)  # 199.5 ms
    p95 = data.operations["Me"].percentile_ms(95)
    assert p95 is not None and abs(p95 - 199.5) <= 199.5 * 0.001


def test_failures_are_kept_apart_from_the_latency_of_successes_and_merge_exactly() -> None:
    parts = [RunData(duration_s=1) for _ in range(2)]
    for part in parts:
        me = part.operation("Me")
        for _ in range(50):
            me.record(1_000, 1_000, second=0, error="ConnectionRefusedError: refused")
        for _ in range(10):
            me.record(150_000, 150_000, second=0, error=None)
    merged = RunData(duration_s=1)
    for part in parts:
        merged.merge(RunData.from_json(json.loads(json.dumps(part.to_json()))))
    me = merged.operations["Me"]
    assert (me.count, me.successes, me.errors) == (120, 20, 100)
    assert int(me.failures.get_total_count()) == 100
    assert me.percentile_ms(5) == me.percentile_ms(95)  # successes only: all 150 ms
    assert abs((me.percentile_ms(5) or 0) - 150) <= 0.15
    assert me.series[0].errors == 100 and me.series[0].latency_ms.get_total_count() == 20
