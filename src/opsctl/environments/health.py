"""``opsctl env check``: probe every dependency of one environment, concurrently, bounded."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from opsctl.environments.probes import (
    Probe,
    Verdict,
    probe_database,
    probe_http,
    probe_redis,
)

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult

    from opsctl.config.models import EnvironmentConfig, LoadedProject

DEFAULT_TIMEOUT_S = 5.0
GRACE_S = 1.0  # beyond each probe's own timeout, before the whole check gives up on it


@dataclass
class HealthReport:
    """Every probe of one environment, and the verdict they add up to."""

    environment: str
    probes: list[Probe] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return all(probe.verdict.healthy for probe in self.probes)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.table import Table

        styles = {
            Verdict.OK: "green",
            Verdict.SKIPPED: "dim",
            Verdict.UNHEALTHY: "red",
            Verdict.UNREACHABLE: "red",
        }
        table = Table(title=f"environment {self.environment}", title_justify="left")
        table.add_column("check", no_wrap=True)
        widest = max((len(probe.target) for probe in self.probes), default=10)
        table.add_column("target", overflow="fold", min_width=min(40, widest))
        table.add_column("verdict", no_wrap=True)
        table.add_column("latency", justify="right", no_wrap=True)
        table.add_column("detail", overflow="fold")
        for probe in self.probes:
            latency = "-" if probe.latency_ms is None else f"{probe.latency_ms:.0f} ms"
            style = styles[probe.verdict]
            table.add_row(
                probe.name, probe.target, f"[{style}]{probe.verdict}[/]", latency, probe.detail
            )
        yield table
        bad = [probe for probe in self.probes if not probe.verdict.healthy]
        if bad:
            yield (
                f"[bold red]{self.environment}: unhealthy[/] "
                f"({len(bad)} of {len(self.probes)} checks failed: "
                f"{', '.join(probe.name for probe in bad)})"
            )
        else:
            yield f"[bold green]{self.environment}: healthy[/]"


def check_environment(
    project: LoadedProject,
    name: str,
    environment: EnvironmentConfig,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> HealthReport:
    """Run every probe for ``environment`` concurrently; each is bounded by ``timeout_s``."""
    jobs: list[tuple[str, Callable[[], list[Probe]]]] = [
        ("http /healthz", lambda: [probe_http(environment.url, "/healthz", timeout_s=timeout_s)]),
        ("http /readyz", lambda: [probe_http(environment.url, "/readyz", timeout_s=timeout_s)]),
        ("database", lambda: _database_probes(project, environment, timeout_s)),
        ("redis", lambda: [_redis_probe(environment, timeout_s)]),
    ]
    return HealthReport(name, _run_bounded(jobs, deadline_s=timeout_s + GRACE_S))


def _run_bounded(
    jobs: list[tuple[str, Callable[[], list[Probe]]]], *, deadline_s: float
) -> list[Probe]:
    """Run ``jobs`` concurrently; a job still running at the deadline counts as unreachable.

    Daemon threads, not a pool: a probe stuck where no timeout reaches (a DNS lookup, for one)
    must not keep the process alive after the verdict is printed.
    """
    results: dict[int, list[Probe]] = {}
    errors: list[BaseException] = []

    def run(index: int, job: Callable[[], list[Probe]]) -> None:
        try:
            results[index] = job()
        except BaseException as error:  # re-raised in the calling thread below
            errors.append(error)

    threads = [
        threading.Thread(target=run, args=(index, job), daemon=True, name=f"probe {label}")
        for index, (label, job) in enumerate(jobs)
    ]
    for thread in threads:
        thread.start()
    end = time.monotonic() + deadline_s
    for thread in threads:
        thread.join(timeout=max(0.0, end - time.monotonic()))
    if errors:
        raise errors[0]
    probes: list[Probe] = []
    for index, (label, _job) in enumerate(jobs):
        probes.extend(
            results.get(index)
            or [Probe(label, "-", Verdict.UNREACHABLE, None, f"no answer within {deadline_s:g} s")]
        )
    return probes


def _database_probes(
    project: LoadedProject, environment: EnvironmentConfig, timeout_s: float
) -> list[Probe]:
    from opsctl.config.models import EMBEDDED
    from opsctl.database.migrations import alembic_ini

    if environment.database_url is None or not environment.database_url.get_secret_value():
        return [Probe("database", "-", Verdict.SKIPPED, None, "no database_url")]
    url = environment.database_url.get_secret_value()
    if url == EMBEDDED:
        from opsctl.database.embedded import EmbeddedServer
        from opsctl.database.servers import data_database_name
        from opsctl.database.urls import with_database

        status = EmbeddedServer.for_project(project).status()
        if status.admin_url is None:
            return [
                Probe(
                    "database",
                    "embedded",
                    Verdict.UNREACHABLE,
                    None,
                    "the embedded server is not running (opsctl db start, or opsctl up)",
                )
            ]
        url = with_database(status.admin_url, data_database_name(project.config.service.name))
    else:
        from opsctl.database.urls import to_libpq

        url = to_libpq(url)
    return probe_database(url, alembic_ini=alembic_ini(project), timeout_s=timeout_s)


def _redis_probe(environment: EnvironmentConfig, timeout_s: float) -> Probe:
    if environment.redis_url is None or not environment.redis_url.get_secret_value():
        return Probe("redis", "-", Verdict.SKIPPED, None, "no redis_url")
    return probe_redis(environment.redis_url.get_secret_value(), timeout_s=timeout_s)
