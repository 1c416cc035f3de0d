"""``opsctl verify load``: P95 and error budget per GraphQL operation under an open-model load.

On ``local`` opsctl starts the service itself (throwaway database, migrations, seed, uvicorn
with ``server_workers``) and tears it down; any other environment is targeted at its URL; a
protected environment is refused. The run is delegated to :mod:`opsctl.load` (Locust in
generator subprocesses), the verdict to :func:`opsctl.load.verdict.evaluate`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

from opsctl.errors import ConfigError, RefusedError
from opsctl.gates.interface import Gate, GateContext, GateResult, Status
from opsctl.gates.load.settings import LoadSettings
from opsctl.gates.tools import tool_versions


class LoadGate(Gate):
    """Judges latency SLAs per operation from a Locust scenario run at a fixed arrival rate."""

    name = "load"
    description = "P95/P99 and error rate per GraphQL operation under an open-model load."
    # Latency measured while other gates burn the same cores measures them, not the service:
    # a runner that honours this runs the load gate alone.
    exclusive: ClassVar[bool] = True

    def run(self, context: GateContext) -> GateResult:
        from opsctl.load.declared import declared_operations
        from opsctl.load.html_report import render_html
        from opsctl.load.launcher import (
            GeneratorOverloadedError,
            LoadPlan,
            Progress,
            run_generators,
        )
        from opsctl.load.server_metrics import MetricsScraper
        from opsctl.load.verdict import evaluate

        started = time.monotonic()
        settings: LoadSettings = context.definition_of_done.load
        refusal = check_target(context, settings)
        if refusal is not None:
            return refusal
        scenario = scenario_path(context, settings)

        def on_progress(progress: Progress) -> None:
            latest = progress.per_worker.get(0)
            if latest is not None:
                phase = "measuring" if latest.get("measuring") else "warming up"
                context.progress(f"load: {latest['elapsed_s']:.0f}s, {phase}")

        with target_url(context, settings) as base_url:
            scraper = MetricsScraper(base_url, settings.server_metric)
            context.progress(
                f"load: {settings.rate:g}/s on {base_url} with {settings.generators} "
                f"worker(s), warm-up {settings.warmup:g}s, {settings.duration:g}s"
            )
            plan = LoadPlan(
                scenario=scenario,
                host=base_url,
                rate=settings.rate,
                warmup_s=settings.warmup,
                duration_s=settings.duration,
                workers=settings.workers,
                max_users=settings.max_users,
                drain_timeout_s=settings.drain_timeout,
                import_root=context.project.root,
                expect_workers=settings.expect_workers,
                master_bind=settings.master_bind,
                expect_workers_max_wait_s=settings.expect_workers_max_wait,
                error_status=settings.error_status,
            )
            try:
                outcome = run_generators(
                    plan, on_progress=on_progress, on_window=scraper, cancelled=context.cancelled
                )
            except GeneratorOverloadedError as error:  # calibrated on this machine, in the run
                return GateResult(
                    gate="load",
                    status=Status.INCOMPLETE,
                    summary="refused: the generators cannot drive this rate here",
                    reasons=[str(error)],
                    tools=tool_versions("locust", "hdrhistogram"),
                    duration_s=time.monotonic() - started,
                )
        server_p95, server_note = scraper.p95_ms()
        result = evaluate(
            settings,
            outcome.data,
            server_p95_ms=server_p95,
            server_note=server_note,
            declared=declared_operations(scenario),
        )
        result.tools = tool_versions("locust", "hdrhistogram")
        report = report_path(context)
        report.parent.mkdir(parents=True, exist_ok=True)
        title = f"Load: {context.project.config.service.name} on {context.environment_name}"
        report.write_text(render_html(result, outcome.data, title=title), encoding="utf-8")
        result.details["html_report"] = str(report)
        result.details["target"] = base_url
        result.duration_s = time.monotonic() - started
        return result


def check_target(context: GateContext, settings: LoadSettings) -> GateResult | None:
    """Refuse protected environments (error) and rates the generators cannot sustain."""
    if context.environment.protected:
        raise RefusedError(
            f"refusing to load-test the protected environment '{context.environment_name}'",
            hint="load tests run on local or a staging environment",
        )
    generators = settings.generators
    capacity = generators * settings.max_rate_per_worker
    if settings.rate > capacity:
        reason = (
            f"target rate {settings.rate:g}/s is above what {generators} generator(s) can "
            f"sustain ({settings.max_rate_per_worker:g}/s each, see benchmarks/load_generator.py)"
            ": raise 'workers' instead of trusting numbers from a saturated generator"
        )
        return GateResult(
            gate="load",
            status=Status.INCOMPLETE,
            summary="refused: rate above capacity",
            reasons=[reason],
        )
    return None


def scenario_path(context: GateContext, settings: LoadSettings) -> Path:
    path = context.project.resolve(settings.scenario)
    if not path.is_file():
        raise ConfigError(
            f"scenario file {settings.scenario} does not exist",
            file=context.project.config.definition_of_done,
            key="load.scenario",
        )
    return path


def report_path(context: GateContext) -> Path:
    directory = context.options.get("reports_dir")
    base = Path(directory) if directory else context.project.root / ".opsctl" / "reports"
    return base / "load-report.html"


@contextlib.contextmanager
def target_url(context: GateContext, settings: LoadSettings) -> Iterator[str]:
    """The base URL to load: a service started for this run on local, else the environment's."""
    service = context.project.config.service
    if context.environment_name == "local" and (service.app or service.start):
        from opsctl.load.local_service import local_service

        with local_service(context, settings) as url:
            yield url
        return
    yield context.environment.url.rstrip("/")
