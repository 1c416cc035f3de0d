"""``opsctl verify api``: attack the running service the way an attacker would, and judge.

On ``local`` opsctl starts the service as the load gate does (throwaway database, migrations,
seed, the service's wiring) with the production settings of ``api.service_environment``; any
other environment is probed at its URL. Against a protected environment only the safe
families (exposure, authentication) run: the others change data or cost the service work.

Each family is a module with a ``PROBES`` list (:mod:`opsctl.gates.api.families`); the gate
runs them in order, turns their findings into the gate's findings (accepted ones kept as
notes), and is incomplete when a probe could not judge or a family the Definition of Done asks
for lacks what it needs (no log-in flow, no schema).
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

from opsctl.gates.api.families import family_probes, missing_configuration
from opsctl.gates.api.findings import apply_acceptance
from opsctl.gates.api.probe import ProbeFinding, ProbeIncomplete, ProbeNotRun, ProbeTarget
from opsctl.gates.api.settings import UNSAFE_FAMILIES, ApiSettings
from opsctl.gates.interface import Gate, GateContext, GateResult, Measurement, Status
from opsctl.gates.tools import tool_versions


class ApiGate(Gate):
    """Denial of service, cost abuse, authentication, tenancy, exposure and fuzzing probes."""

    name = "api"
    description = (
        "Attacks the running API: DoS, cost abuse, auth, tenant isolation, exposure, fuzzing."
    )
    # Its denial-of-service oracle is time: other gates burning the cores would fail it.
    exclusive = True

    def run(self, context: GateContext) -> GateResult:
        started = time.monotonic()
        settings: ApiSettings = context.definition_of_done.api
        outcome = ProbeRun()
        with target_url(context, settings) as base_url:
            target = ProbeTarget(
                base_url=base_url,
                endpoint=settings.endpoint,
                health_path=settings.health,
                budget_s=settings.budget,
                settings=settings,
                protected=context.environment.protected,
                extra={"project_root": str(context.project.root)},
            )
            try:
                baseline, unanswered = baseline_request_s(target)
                if unanswered:  # every probe would "pass" against a service that is not there
                    outcome.reasons.append(unanswered)
                else:
                    run_families(context, settings, target, outcome)
            finally:
                target.close()
        result = judge(context, settings, outcome, started)
        result.details["baseline_request_s"] = baseline
        result.details["target"] = base_url
        return result


@dataclass
class ProbeRun:
    """What the probes of one run found, could not judge, and did not run."""

    findings: list[ProbeFinding] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)  # could not judge: the gate is incomplete
    not_run: dict[str, str] = field(default_factory=dict)  # probe or family -> why
    seconds: dict[str, float] = field(default_factory=dict)  # per family
    probes_run: int = 0


def run_families(
    context: GateContext, settings: ApiSettings, target: ProbeTarget, outcome: ProbeRun
) -> None:
    """Each family the Definition of Done lists, in its order, each probe on its own."""
    import httpx

    for family in settings.families:
        if target.protected and family in UNSAFE_FAMILIES:
            outcome.not_run[family] = (
                f"not run on the protected environment {context.environment_name}"
            )
            continue
        missing = missing_configuration(family, settings)
        if missing is not None:
            outcome.reasons.append(f"{family}: {missing}")
            continue
        family_started = time.monotonic()
        context.progress(f"api: {family} probes on {target.base_url}")
        for probe in family_probes(family):
            if context.cancelled.is_set():
                outcome.reasons.append("cancelled before every probe ran")
                return
            name = f"{family}.{probe.__name__}"
            try:
                outcome.findings.extend(probe(target))
                outcome.probes_run += 1
            except ProbeNotRun as why:
                outcome.not_run[name] = str(why)
            except ProbeIncomplete as why:
                outcome.reasons.append(f"{name}: {why}")
            except httpx.HTTPError as error:
                outcome.reasons.append(f"{name}: {type(error).__name__}: {error}")
        outcome.seconds[family] = time.monotonic() - family_started


def baseline_request_s(target: ProbeTarget, requests: int = 20) -> tuple[float, str]:
    """Median seconds of a plain request, and why the service cannot be probed ("" if it can).

    A GraphQL service must answer ``{ __typename }`` with data, a REST one its health path with
    a 2xx: a URL that answers nothing, or something else, would pass every exposure probe.
    """
    import statistics

    kind = target.settings.kind if target.settings is not None else "graphql"
    seconds = []
    answer = None
    for _ in range(requests):
        if kind == "graphql":
            answer = target.graphql("query { __typename }")
            document = answer.json()
            ok = isinstance(document, dict) and bool((document.get("data") or {}).get("__typename"))
        else:
            answer = target.send(b"", method="GET", url=target.url(target.health_path))
            ok = answer.status is not None and 200 <= answer.status < 300
        if not ok:
            what = "{ __typename } with data" if kind == "graphql" else f"GET {target.health_path}"
            return (
                0.0,
                f"the service at {target.base_url} does not answer {what}: {answer.describe()}",
            )
        seconds.append(answer.seconds)
    return round(statistics.median(seconds), 4), ""


def judge(
    context: GateContext, settings: ApiSettings, outcome: ProbeRun, started: float
) -> GateResult:
    """The verdict: a failing finding fails; else a probe that could not judge is incomplete."""
    location = definition_of_done_location(context)
    found, reasons, not_run = outcome.findings, outcome.reasons, outcome.not_run
    findings, acceptance_notes = apply_acceptance(settings.accepted, found, location)
    failing = [f for f in findings if f.severity.value == "error" and not f.accepted]
    if failing:
        status = Status.FAILED
        summary = f"{len(failing)} finding(s): " + ", ".join(sorted({f.rule for f in failing}))
    elif reasons:
        status = Status.INCOMPLETE
        summary = f"{len(reasons)} probe(s) or families could not judge"
    else:
        status = Status.PASSED
        summary = f"{outcome.probes_run} probes, no finding"
    if not_run:
        summary += f"; {len(not_run)} not run"
    measurements = [
        Measurement("probes run", outcome.probes_run, unit="probes"),
        *(
            Measurement(f"{family} seconds", round(seconds, 2), unit="s")
            for family, seconds in outcome.seconds.items()
        ),
    ]
    return GateResult(
        gate="api",
        status=status,
        summary=summary,
        measurements=measurements,
        findings=[*findings, *acceptance_notes],
        tools=tool_versions("httpx", "graphql-core", "schemathesis"),
        duration_s=time.monotonic() - started,
        details={
            "probes": [asdict(f) for f in found],
            "not_run": not_run,
            "family_seconds": {f: round(seconds, 3) for f, seconds in outcome.seconds.items()},
        },
        reasons=reasons,
    )


def definition_of_done_location(context: GateContext) -> tuple[str, int | None]:
    """Where the api section is: findings point there (where a probe is accepted)."""
    relative = context.project.config.definition_of_done
    try:
        text = context.project.resolve(relative).read_text(encoding="utf-8")
    except OSError:
        return relative, None
    for number, line in enumerate(text.splitlines(), start=1):
        if re.match(r"^api\s*:", line):
            return relative, number
    return relative, None


@contextlib.contextmanager
def target_url(context: GateContext, settings: ApiSettings) -> Iterator[str]:
    """A service started for this run on local (production settings), else the environment's."""
    service = context.project.config.service
    if context.environment_name == "local" and (service.app or service.start):
        from opsctl.serving.service import ServeOptions, started_service

        options = ServeOptions(
            workers=1,
            seed_scale=settings.seed_scale,
            environment=dict(settings.service_environment),
            progress_label="api",
        )
        with started_service(context, options) as url:
            yield url
        return
    yield context.environment.url.rstrip("/")
