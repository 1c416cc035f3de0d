"""Judge a run against the Definition of Done's load SLAs (gevent-free, pure).

Two kinds of problems, kept apart on purpose:

- the *run* is not trustworthy (a generator failed, the achieved rate fell below 95 % of the
  target, the generator's event loop lagged, scenario code raised): the verdict is INCOMPLETE,
  never PASSED, and SLA misses are reported as warnings only;
- an *operation* misses its SLA (P95, P99, error rate, requests left unanswered): FAILED.

Percentiles are those of the *successful* responses: a failed request (a refused connection
fails in a millisecond) says nothing about the latency users get, and counted with the rest it
would pull the P95 down until a service that is down looked fast. Failures count against the
error budget only. An operation with an SLA and fewer than ``min_samples`` successful
responses cannot establish its P95 (with 100 samples the 95 % confidence interval of P95
reaches the maximum): INCOMPLETE, unless its error rate already fails it. An SLA that matches
no operation that was called is INCOMPLETE too, so a typo never passes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from opsctl.gates.interface import Finding, GateResult, Measurement, Severity, Status
from opsctl.gates.load.settings import LoadSettings, Sla
from opsctl.load.engine_names import UNFINISHED
from opsctl.load.histograms import OperationStats, RunData

MIN_RATE_SHARE = 0.95
#: A generator asked for more than this share of what its CPU can drive is saturated: its own
#: queueing would be charged to the service (calibrated from the run, with the scenario's code).
CAPACITY_SHARE = 0.8
LATENCY_DEFINITION = (
    "latency = response end minus the moment the request was due under the open-model "
    "schedule (includes queueing, connect, send, server time and body download)"
)


@dataclass
class OperationVerdict:
    """One operation's numbers and what its SLAs said about them."""

    name: str
    stats: OperationStats
    slas: list[Sla]
    status: Status = Status.PASSED
    notes: list[str] = field(default_factory=list)
    server_p95_ms: float | None = None

    def row(self, duration_s: float) -> dict[str, Any]:
        stats = self.stats
        sla = self.slas[0] if self.slas else None
        return {
            "operation": self.name,
            "tags": sorted(stats.tags),
            "count": stats.count,
            "successes": stats.successes,
            "rate": round(stats.count / duration_s, 2) if duration_s else 0.0,
            "p50_ms": stats.percentile_ms(50),
            "p95_ms": stats.percentile_ms(95),
            "p99_ms": stats.percentile_ms(99),
            "max_ms": stats.max_ms(),
            "p95_sent_ms": stats.percentile_ms(95, service=True),
            "server_p95_ms": self.server_p95_ms,
            "errors": stats.errors,
            "error_rate": stats.error_rate,
            "sla_p95_ms": sla.p95_ms if sla else None,
            "sla_p99_ms": sla.p99_ms if sla else None,
            "sla_max_error_rate": sla.max_error_rate if sla else None,
            "verdict": self.status.value if self.slas else "no SLA",
            "notes": self.notes,
            "error_messages": dict(stats.error_messages.most_common(3)),
        }


def matches(sla: Sla, name: str, stats: OperationStats) -> bool:
    if sla.match.operation is not None:
        return sla.match.operation == name
    return sla.match.tag in stats.tags


def slas_for(name: str, stats: OperationStats, slas: list[Sla]) -> list[Sla]:
    """The SLAs an operation is held to: its own by name, else every SLA of one of its tags."""
    own = [sla for sla in slas if sla.match.operation == name]
    return own or [sla for sla in slas if sla.match.tag is not None and matches(sla, name, stats)]


def run_problems(data: RunData, *, max_lag_ms: float, max_stall_ms: float) -> list[str]:
    """Why the run itself cannot be trusted (empty: it can)."""
    problems = list(data.failed_workers)
    if data.achieved_rate < MIN_RATE_SHARE * data.target_rate:
        problems.append(
            f"achieved {data.achieved_rate:.1f} arrivals/s, below 95 % of the target "
            f"{data.target_rate:g}/s: the generators could not keep the schedule"
        )
    lag = data.lag_p99_ms()
    if lag > max_lag_ms:
        problems.append(
            f"generator event-loop lag P99 {lag:.0f} ms > {max_lag_ms:g} ms: "
            "the load generator was saturated, its latencies are inflated"
        )
    stall = data.largest_stall_ms()
    if stall > max_stall_ms:
        problems.append(
            f"a generator froze for {stall:.0f} ms (> {max_stall_ms:g} ms): its pause would be "
            "charged to the service as latency"
        )
    capacity = data.generator_capacity()
    if capacity is not None and data.workers:
        asked = data.target_rate / data.workers
        if asked > CAPACITY_SHARE * capacity:
            problems.append(
                f"the scenario costs its generator {1000 / capacity:.1f} ms of CPU per arrival "
                f"here: one process sustains about {capacity:.0f} arrivals/s, and each was "
                f"asked for {asked:.0f}/s (over {CAPACITY_SHARE:.0%} of it): add generators "
                "(load.workers) or lower the rate"
            )
    delay = data.largest_start_delay_ms()
    if delay > max_stall_ms:
        problems.append(
            f"an arrival began {delay:.0f} ms after it was due (> {max_stall_ms:g} ms) with a user "
            "free: the generator fell behind its schedule"
        )
    if data.empty_arrivals:
        problems.append(
            f"{data.empty_arrivals} arrival(s) sent no request (the scenario's task did nothing):"
            " they are not counted as load"
        )
    for message, count in data.exceptions.most_common(3):
        problems.append(f"scenario code raised {count}x: {message}")
    return problems


def evaluate(
    settings: LoadSettings,
    data: RunData,
    *,
    server_p95_ms: dict[str, float] | None = None,
    server_note: str | None = None,
    declared: Mapping[str, frozenset[str]] | None = None,
) -> GateResult:
    """The gate result for ``data`` measured against ``settings``.

    ``declared`` (operation -> tags, from the scenario's source) is reconciled with what ran:
    a declared operation that ran fewer than ``min_samples`` times makes the run incomplete,
    so a tag SLA is met only when every operation of that tag was measured.
    """
    server_p95_ms = server_p95_ms or {}
    problems = run_problems(
        data,
        max_lag_ms=settings.max_generator_lag_ms,
        max_stall_ms=settings.max_generator_stall_ms,
    )
    verdicts: list[OperationVerdict] = []
    findings: list[Finding] = []
    measurements: list[Measurement] = [
        Measurement(
            "achieved rate",
            round(data.achieved_rate, 2),
            threshold=round(MIN_RATE_SHARE * data.target_rate, 2),
            unit="/s",
            comparison=">=",
            passed=data.achieved_rate >= MIN_RATE_SHARE * data.target_rate,
        ),
        Measurement(
            "generator lag P99",
            round(data.lag_p99_ms(), 2),
            threshold=settings.max_generator_lag_ms,
            unit="ms",
            comparison="<=",
            passed=data.lag_p99_ms() <= settings.max_generator_lag_ms,
        ),
    ]
    capacity = data.generator_capacity()
    if capacity is not None and data.workers:
        asked = data.target_rate / data.workers
        measurements.append(
            Measurement(
                "rate per generator",
                round(asked, 2),
                threshold=round(CAPACITY_SHARE * capacity, 2),
                unit="/s",
                comparison="<=",
                passed=asked <= CAPACITY_SHARE * capacity,
            )
        )
    sample_gaps: list[str] = []
    for name in sorted(data.operations):
        stats = data.operations[name]
        verdict = OperationVerdict(name, stats, slas_for(name, stats, settings.slas))
        verdict.server_p95_ms = server_p95_ms.get(name)
        verdicts.append(verdict)
        if name == UNFINISHED:
            verdict.status = Status.FAILED
            findings.append(
                Finding(
                    "load/unanswered",
                    f"{stats.count} requests got no response within the drain timeout "
                    f"({settings.drain_timeout:g}s)",
                )
            )
            continue
        for sla in verdict.slas:
            _judge(verdict, sla, settings, measurements, findings, sample_gaps)
    for sla in settings.slas:
        if not any(matches(sla, v.name, v.stats) for v in verdicts if v.stats.count > 0):
            sample_gaps.append(
                f"the SLA for {sla.match.describe()} matched no operation called"
                + _did_you_mean(sla, [v.name for v in verdicts if v.stats.count > 0])
            )
    sample_gaps.extend(_unmeasured_declared(declared or {}, data, settings))
    status = _overall(problems, sample_gaps, findings)
    if problems:  # an untrustworthy run can fail nothing: its SLA misses become warnings
        findings = [_as_warning(f) for f in findings]
    reasons = problems + sample_gaps
    summary = _summary(status, verdicts, reasons, data)
    return GateResult(
        gate="load",
        status=status,
        summary=summary,
        measurements=measurements,
        findings=findings,
        reasons=reasons,
        details={
            "latency_definition": LATENCY_DEFINITION,
            "operations": [v.row(data.duration_s) for v in verdicts],
            "run": run_details(data),
            "server_side": server_note or "",
        },
    )


def _did_you_mean(sla: Sla, called: list[str]) -> str:
    """A hint for an operation SLA written as a bare path (REST requests are ``GET /path``)."""
    wanted = sla.match.operation
    if not wanted:
        return ""
    close = [name for name in called if name.partition(" ")[2] == wanted]
    close = close or [name for name in called if name.lower() == wanted.lower()]
    return f" (did you mean {' or '.join(repr(name) for name in close)}?)" if close else ""


def _unmeasured_declared(
    declared: Mapping[str, frozenset[str]], data: RunData, settings: LoadSettings
) -> list[str]:
    """Declared operations that did not run enough; those with an SLA are judged already."""
    gaps: list[str] = []
    for name, tags in sorted(declared.items()):
        stats = data.operations.get(name)
        if stats is not None and stats.count > 0 and slas_for(name, stats, settings.slas):
            continue  # held to its SLA, min_samples included, by _judge
        count = 0 if stats is None else stats.count
        if count >= settings.min_samples:
            continue
        tagged = f" (tags {', '.join(sorted(tags))})" if tags else ""
        gaps.append(
            f"{name}{tagged}: declared in the scenario but ran {count} time(s) in the measured "
            f"window, fewer than min_samples {settings.min_samples}"
        )
    return gaps


def _judge(
    verdict: OperationVerdict,
    sla: Sla,
    settings: LoadSettings,
    measurements: list[Measurement],
    findings: list[Finding],
    sample_gaps: list[str],
) -> None:
    stats, name = verdict.stats, verdict.name
    needed = sla.min_samples or settings.min_samples
    checks = [("P95", 95.0, sla.p95_ms)]
    if sla.p99_ms is not None:
        checks.append(("P99", 99.0, sla.p99_ms))
    if stats.successes < needed:
        # the percentiles cannot be established: shown as not measured, never as passed
        for label, _percentile, limit in checks:
            measurements.append(
                Measurement(f"{label} {name}", None, threshold=limit, unit="ms", comparison="<")
            )
        verdict.notes.append(f"{stats.successes} successful samples < min_samples {needed}")
        if not _judge_errors(verdict, sla, measurements, findings):
            verdict.status = max(verdict.status, Status.INCOMPLETE, key=lambda s: s.rank)
            sample_gaps.append(
                f"{name}: {stats.successes} successful samples (of {stats.count} requests), "
                f"fewer than min_samples {needed}: its P95 cannot be established "
                "(raise duration or rate)"
            )
        return
    for label, percentile, limit in checks:
        value = stats.percentile_ms(percentile)
        assert value is not None  # successes >= min_samples >= 1
        passed = value < limit
        measurements.append(
            Measurement(
                f"{label} {name}", value, threshold=limit, unit="ms", comparison="<", passed=passed
            )
        )
        if not passed:
            verdict.status = Status.FAILED
            verdict.notes.append(f"{label} {value:.1f} ms >= {limit:g} ms")
            findings.append(
                Finding(
                    "load/latency",
                    f"{name}: {label} {value:.1f} ms is not below {limit:g} ms "
                    f"({sla.match.describe()}, {stats.successes} successful samples)",
                    help="Profile the operation (N+1 queries, missing index, cache) or lower "
                    "the rate only if the target was unrealistic.",
                )
            )
    _judge_errors(verdict, sla, measurements, findings)


def _judge_errors(
    verdict: OperationVerdict, sla: Sla, measurements: list[Measurement], findings: list[Finding]
) -> bool:
    """Hold the error rate to the budget; True if it fails the operation."""
    stats, name = verdict.stats, verdict.name
    rate = stats.error_rate
    passed = rate <= sla.max_error_rate
    measurements.append(
        Measurement(
            f"error rate {name}",
            round(rate * 100, 3),
            threshold=sla.max_error_rate * 100,
            unit="%",
            comparison="<=",
            passed=passed,
        )
    )
    if passed:
        return False
    verdict.status = Status.FAILED
    top = ", ".join(stats.error_messages.keys()) or "no message"
    verdict.notes.append(f"error rate {rate:.2%} > {sla.max_error_rate:.2%}")
    findings.append(
        Finding(
            "load/error-rate",
            f"{name}: {stats.errors} of {stats.count} requests failed ({rate:.2%} > "
            f"{sla.max_error_rate:.2%}); first errors: {top[:300]}",
        )
    )
    return True


def _overall(problems: list[str], sample_gaps: list[str], findings: list[Finding]) -> Status:
    if problems:
        return Status.INCOMPLETE
    if any(f.severity is Severity.ERROR for f in findings):
        return Status.FAILED
    if sample_gaps:
        return Status.INCOMPLETE
    return Status.PASSED


def _as_warning(finding: Finding) -> Finding:
    return Finding(
        finding.rule,
        finding.message + " (run invalid: not judged)",
        severity=Severity.WARNING,
        help=finding.help,
    )


def _summary(
    status: Status, verdicts: list[OperationVerdict], reasons: list[str], data: RunData
) -> str:
    judged = [v for v in verdicts if v.slas]
    failed = [v.name for v in judged if v.status is Status.FAILED]
    head = f"{len(judged)} operations at {data.achieved_rate:.0f}/s"
    if status is Status.PASSED:
        return f"{head}: every SLA met"
    if status is Status.FAILED:
        return f"{head}: SLA missed by {', '.join(failed) or 'unanswered requests'}"
    return f"{head}: incomplete ({reasons[0] if reasons else 'no data'})"


def run_details(data: RunData) -> dict[str, Any]:
    return {
        "target_rate": data.target_rate,
        "achieved_rate": round(data.achieved_rate, 2),
        "workers": data.workers,
        "warmup_s": data.warmup_s,
        "duration_s": data.duration_s,
        "scheduled": data.scheduled,
        "began_on_time": data.began_on_time,
        "warmup_requests_excluded": data.warmup_requests,
        "waited_for_user": data.waited_for_user,
        "empty_arrivals": data.empty_arrivals,
        "largest_generator_stall_ms": data.largest_stall_ms(),
        "largest_start_delay_ms": data.largest_start_delay_ms(),
        "unfinished": data.unfinished,
        "generator_lag_p99_ms": data.lag_p99_ms(),
        "start_delay_p99_ms": float(data.start_delay.get_value_at_percentile(99)) / 1000,
        "exceptions": dict(data.exceptions),
        "failed_workers": data.failed_workers,
    }


def exploration_result(data: RunData, problems: list[str]) -> GateResult:
    """A result without SLAs (``opsctl load run``): the numbers, the run's problems, no verdict."""
    rows = [
        OperationVerdict(name, data.operations[name], []).row(data.duration_s)
        for name in sorted(data.operations)
    ]
    return GateResult(
        gate="load",
        status=Status.SKIPPED,
        summary=f"exploration run at {data.achieved_rate:.1f}/s: no verdict",
        reasons=problems,
        details={
            "latency_definition": LATENCY_DEFINITION,
            "operations": rows,
            "run": run_details(data),
        },
    )
