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
    assert abs(data.operations["Me"].percentile_ms(95) - 199.5) <= 199.5 * 0.001
