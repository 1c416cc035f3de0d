"""What one run measured: per-operation HDR histograms that serialize and merge exactly.

Latency is in microseconds with 3 significant digits (0.1 % relative error). Each operation
keeps two histograms of its *successful* responses: ``latency`` from when the request was
*due* (what a user arriving on schedule feels: includes queueing behind a stalled server or
generator) and ``service`` from when it was actually sent (Locust's own figure, kept to show
coordinated omission). Failed requests go to a histogram of their own (``failures``): a
refused connection fails in a millisecond, and counted with the successes it would pull the
P95 down, so that a service that is down would look fast. The time series is per second of
the run, at 2 significant digits, only for the charts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

HIGHEST_US = 300_000_000  # 5 minutes: anything slower is recorded as 5 minutes
SERIES_HIGHEST_MS = 300_000
LAG_HIGHEST_US = 60_000_000


def new_latency_histogram() -> HdrHistogram:
    return HdrHistogram(1, HIGHEST_US, 3)


def new_series_histogram() -> HdrHistogram:
    return HdrHistogram(1, SERIES_HIGHEST_MS, 2)


def new_lag_histogram() -> HdrHistogram:
    return HdrHistogram(1, LAG_HIGHEST_US, 3)


def clamp(value: float, highest: int) -> int:
    return max(1, min(highest, round(value)))


def _encode(histogram: HdrHistogram) -> str:
    return bytes(histogram.encode()).decode("ascii")


def _decode(text: str) -> HdrHistogram:
    return HdrHistogram.decode(text.encode("ascii"))


def _add(target: HdrHistogram, source: HdrHistogram) -> None:
    if source.get_total_count():
        target.add(source)


@dataclass
class SecondStats:
    """One second of one operation (by due time), for the latency-over-time chart: the
    latency of its successful responses, and how many failed."""

    latency_ms: HdrHistogram = field(default_factory=new_series_histogram)
    errors: int = 0


@dataclass
class OperationStats:
    """Everything measured for one operation (GraphQL operationName) in the measured window.

    ``latency`` and ``service`` hold successful responses only; ``failures`` the latency (from
    due) of failed requests, whose number is ``errors``. ``count`` is every request.
    """

    latency: HdrHistogram = field(default_factory=new_latency_histogram)
    service: HdrHistogram = field(default_factory=new_latency_histogram)
    failures: HdrHistogram = field(default_factory=new_latency_histogram)
    errors: int = 0
    error_messages: Counter[str] = field(default_factory=Counter)
    tags: set[str] = field(default_factory=set)
    series: dict[int, SecondStats] = field(default_factory=dict)

    @property
    def successes(self) -> int:
        """Requests that succeeded: the samples its percentiles stand on."""
        return int(self.latency.get_total_count())

    @property
    def count(self) -> int:
        """Every request, successful or failed."""
        return self.successes + self.errors

    @property
    def error_rate(self) -> float:
        return self.errors / self.count if self.count else 0.0

    def percentile_ms(self, percentile: float, *, service: bool = False) -> float | None:
        """The percentile of the successful responses (None: no response succeeded)."""
        histogram = self.service if service else self.latency
        if not histogram.get_total_count():
            return None
        return float(histogram.get_value_at_percentile(percentile)) / 1000.0

    def max_ms(self) -> float | None:
        """The slowest successful response (None: none succeeded)."""
        if not self.successes:
            return None
        return float(self.latency.get_max_value()) / 1000.0

    def record(
        self, latency_us: float, service_us: float, *, second: int, error: str | None
    ) -> None:
        bucket = self.series.get(second)
        if bucket is None:
            bucket = self.series[second] = SecondStats()
        if error is not None:
            self.failures.record_value(clamp(latency_us, HIGHEST_US))
            self.errors += 1
            bucket.errors += 1
            self.error_messages[error[:200]] += 1
            return
        self.latency.record_value(clamp(latency_us, HIGHEST_US))
        self.service.record_value(clamp(service_us, HIGHEST_US))
        bucket.latency_ms.record_value(clamp(latency_us / 1000.0, SERIES_HIGHEST_MS))

    def merge(self, other: OperationStats) -> None:
        _add(self.latency, other.latency)
        _add(self.service, other.service)
        _add(self.failures, other.failures)
        self.errors += other.errors
        self.error_messages.update(other.error_messages)
        self.tags |= other.tags
        for second, stats in other.series.items():
            mine = self.series.setdefault(second, SecondStats())
            _add(mine.latency_ms, stats.latency_ms)
            mine.errors += stats.errors

    def to_json(self) -> dict[str, Any]:
        return {
            "latency": _encode(self.latency),
            "service": _encode(self.service),
            "failures": _encode(self.failures),
            "errors": self.errors,
            "error_messages": dict(self.error_messages.most_common(20)),
            "tags": sorted(self.tags),
            "series": {
                str(second): [_encode(stats.latency_ms), stats.errors]
                for second, stats in self.series.items()
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OperationStats:
        return cls(
            latency=_decode(data["latency"]),
            service=_decode(data["service"]),
            failures=_decode(data["failures"]),
            errors=int(data["errors"]),
            error_messages=Counter({str(k): int(v) for k, v in data["error_messages"].items()}),
            tags=set(data["tags"]),
            series={
                int(second): SecondStats(_decode(encoded), int(errors))
                for second, (encoded, errors) in data["series"].items()
            },
        )


#: Below this many arrivals the CPU cost per arrival is start-up noise, not a calibration.
CALIBRATION_ARRIVALS = 100


def generator_capacity(arrivals: int, cpu_s: float) -> float | None:
    """Arrivals/s one generator process can drive with a whole core (None: too few to tell)."""
    if arrivals < CALIBRATION_ARRIVALS or cpu_s <= 0:
        return None
    return arrivals / cpu_s


@dataclass
class RunData:
    """One generator's (or, merged, the whole run's) measurements and health signals."""

    operations: dict[str, OperationStats] = field(default_factory=dict)
    scheduled: int = 0  # arrivals due in the measured window
    began_on_time: int = 0  # of those, arrivals whose task began before the window ended
    warmup_requests: int = 0  # requests excluded because their arrival was due in warm-up
    waited_for_user: int = 0  # arrivals that waited because max_users were all busy
    unfinished: int = 0  # requests still running at the end of the drain timeout
    empty_arrivals: int = 0  # measured arrivals whose task sent no request at all
    arrivals: int = 0  # every arrival started, warm-up included (for the generator's CPU cost)
    cpu_s: float = 0.0  # CPU the generator processes spent on the whole schedule
    lag: HdrHistogram = field(default_factory=new_lag_histogram)  # event-loop lag, µs
    start_delay: HdrHistogram = field(default_factory=new_lag_histogram)  # began - due, µs
    exceptions: Counter[str] = field(default_factory=Counter)  # errors in scenario code
    duration_s: float = 0.0
    warmup_s: float = 0.0
    target_rate: float = 0.0
    workers: int = 1
    failed_workers: list[str] = field(default_factory=list)

    def operation(self, name: str) -> OperationStats:
        stats = self.operations.get(name)
        if stats is None:
            stats = self.operations[name] = OperationStats()
        return stats

    @property
    def achieved_rate(self) -> float:
        # keeping the schedule; arrivals that sent nothing are a problem of their own (verdict)
        return self.began_on_time / self.duration_s if self.duration_s else 0.0

    def lag_p99_ms(self) -> float:
        return float(self.lag.get_value_at_percentile(99)) / 1000.0

    def largest_stall_ms(self) -> float:
        """The longest single freeze of a generator's event loop (lag probe maximum)."""
        return float(self.lag.get_max_value()) / 1000.0 if self.lag.get_total_count() else 0.0

    def generator_capacity(self) -> float | None:
        """What one generator drives here with the scenario's code, arrivals/s (None: unknown)."""
        return generator_capacity(self.arrivals, self.cpu_s)

    def largest_start_delay_ms(self) -> float:
        """The latest an arrival began after its due time, without waiting for a busy user."""
        delays = self.start_delay
        return float(delays.get_max_value()) / 1000.0 if delays.get_total_count() else 0.0

    def merge(self, other: RunData) -> None:
        """Add another generator's data: histograms add bucket by bucket, so it is exact."""
        for name, stats in other.operations.items():
            self.operation(name).merge(stats)
        self.scheduled += other.scheduled
        self.began_on_time += other.began_on_time
        self.warmup_requests += other.warmup_requests
        self.waited_for_user += other.waited_for_user
        self.unfinished += other.unfinished
        self.empty_arrivals += other.empty_arrivals
        self.arrivals += other.arrivals
        self.cpu_s += other.cpu_s
        _add(self.lag, other.lag)
        _add(self.start_delay, other.start_delay)
        self.exceptions.update(other.exceptions)
        self.failed_workers.extend(other.failed_workers)

    def to_json(self) -> dict[str, Any]:
        return {
            "operations": {name: stats.to_json() for name, stats in self.operations.items()},
            "scheduled": self.scheduled,
            "began_on_time": self.began_on_time,
            "warmup_requests": self.warmup_requests,
            "waited_for_user": self.waited_for_user,
            "unfinished": self.unfinished,
            "empty_arrivals": self.empty_arrivals,
            "arrivals": self.arrivals,
            "cpu_s": self.cpu_s,
            "lag": _encode(self.lag),
            "start_delay": _encode(self.start_delay),
            "exceptions": dict(self.exceptions.most_common(20)),
            "duration_s": self.duration_s,
            "warmup_s": self.warmup_s,
            "target_rate": self.target_rate,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunData:
        return cls(
            operations={
                str(name): OperationStats.from_json(stats)
                for name, stats in data["operations"].items()
            },
            scheduled=int(data["scheduled"]),
            began_on_time=int(data["began_on_time"]),
            warmup_requests=int(data["warmup_requests"]),
            waited_for_user=int(data["waited_for_user"]),
            unfinished=int(data["unfinished"]),
            empty_arrivals=int(data.get("empty_arrivals", 0)),
            arrivals=int(data.get("arrivals", 0)),
            cpu_s=float(data.get("cpu_s", 0.0)),
            lag=_decode(data["lag"]),
            start_delay=_decode(data["start_delay"]),
            exceptions=Counter({str(k): int(v) for k, v in data["exceptions"].items()}),
            duration_s=float(data["duration_s"]),
            warmup_s=float(data["warmup_s"]),
            target_rate=float(data["target_rate"]),
            failed_workers=[str(item) for item in data.get("failed_workers", [])],
        )
