"""Which arrival rate the reference API sustains on this machine, under the load gate's rules.

Starts the service the way ``opsctl verify load`` does on ``local`` (throwaway database,
migrations, the ``large`` seed, ``server_workers`` uvicorn workers, the Definition of Done's
``service_environment``) once, then runs the Definition of Done's scenario at each ``--rates``
value in turn and judges each run against the Definition of Done's SLAs. Prints, per rate and
operation: samples, client-side P50/P95/P99 (from when each request was due) and server-side
P50/P95/P99 (from the service's Prometheus histogram over the same window; one worker's
registry, interpolated within its buckets), then the verdict.

Latency on a shared machine measures the neighbours too, so each run also accounts the CPU
time it cost (Linux ``/proc``): the service's processes and the generators (descendants of
this process) and the PostgreSQL backends of its database, per arrival, next to how busy the
whole machine was. ``2 cores / CPU per arrival`` is the rate at which this machine would be
saturated by the run alone; the Definition of Done's rate should stay well below it (queueing
grows fast past ~60 % utilisation).

Bounded: loopback only, ``--duration`` per rate (at most 120 s), at most 8 rates.

Run: DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
     .venv/bin/python benchmarks/load_reference_api.py --rates 40 60 80 --duration 60
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from opsctl.config.project import get_environment, load_project
from opsctl.database.servers import server_admin_url
from opsctl.database.throwaway import throwaway_database
from opsctl.database.urls import to_libpq
from opsctl.definition_of_done import load_definition_of_done
from opsctl.gates.interface import GateContext
from opsctl.gates.load.settings import LoadSettings
from opsctl.load.launcher import LoadPlan, run_generators
from opsctl.load.local_service import serve_options
from opsctl.load.server_metrics import MetricsScraper, window_quantiles
from opsctl.load.verdict import evaluate
from opsctl.serving.service import migrate_and_seed, serve

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
MAX_DURATION_S = 120.0
MAX_RATES = 8


def _ticks(pid: int) -> float:
    """CPU seconds (user + system) a process has used, 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(values) - values[3] - values[4]) / tick, sum(values) / tick


class CpuMeter:
    """CPU seconds of this run's processes, split into service+generators and PostgreSQL."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.database = database_url.rsplit("/", 1)[1].split("?", 1)[0]

    def _backends(self) -> list[int]:
        with psycopg.connect(to_libpq(self.database_url)) as connection:
            rows = connection.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (self.database,),
            ).fetchall()
        return [int(row[0]) for row in rows]

    def sample(self) -> dict[tuple[str, int], float]:
        """CPU seconds so far of each process, keyed by ("ours" or "pg", pid)."""
        sample = {("ours", pid): _ticks(pid) for pid in _descendants(os.getpid())}
        sample.update({("pg", pid): _ticks(pid) for pid in self._backends()})
        return sample


def _cpu_delta(
    before: dict[tuple[str, int], float], after: dict[tuple[str, int], float]
) -> tuple[float, float]:
    """(our processes, PostgreSQL backends) CPU seconds between two samples."""
    used = {"ours": 0.0, "pg": 0.0}
    for (kind, pid), ticks in after.items():
        used[kind] += ticks - before.get((kind, pid), 0.0)
    return used["ours"], used["pg"]


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def measure(
    settings: LoadSettings, base_url: str, scenario: Path, root: Path, meter: CpuMeter
) -> None:
    """One run at ``settings.rate``; prints the table, the CPU it cost and the verdict."""
    scraper = MetricsScraper(base_url, settings.server_metric)
    cpu_before, machine_before = meter.sample(), _machine_busy()
    outcome = run_generators(
        LoadPlan(
            scenario=scenario,
            host=base_url,
            rate=settings.rate,
            warmup_s=settings.warmup,
            duration_s=settings.duration,
            workers=settings.workers,
            max_users=settings.max_users,
            drain_timeout_s=settings.drain_timeout,
            import_root=root,
        ),
        on_window=scraper,
    )
    ours, pg = _cpu_delta(cpu_before, meter.sample())
    busy, total = (a - b for a, b in zip(_machine_busy(), machine_before, strict=True))
    arrivals = max(1, outcome.data.scheduled)
    server: dict[float, dict[str, float]] = {}
    if "start" in scraper.snapshots and "end" in scraper.snapshots:
        for quantile in (0.5, 0.95, 0.99):
            server[quantile] = window_quantiles(
                scraper.snapshots["start"], scraper.snapshots["end"], quantile
            )
    result = evaluate(settings, outcome.data, server_p95_ms=server.get(0.95))
    run = result.details["run"]
    print(
        f"\n== rate {settings.rate:g}/s: {result.status.value}; achieved "
        f"{run['achieved_rate']}/s, generator lag P99 {run['generator_lag_p99_ms']:.1f} ms"
    )
    print(
        "| operation | tags | n | P50 ms | P95 ms | P99 ms | server P50 ms | server P95 ms "
        "| server P99 ms | errors | SLA P95 ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for row in result.details["operations"]:
        name = row["operation"]
        side = [server.get(q, {}).get(name) for q in (0.5, 0.95, 0.99)]
        print(
            f"| {name} | {','.join(row['tags'])} | {row['count']} | {_ms(row['p50_ms'])} "
            f"| {_ms(row['p95_ms'])} | {_ms(row['p99_ms'])} | {_ms(side[0])} | {_ms(side[1])} "
            f"| {_ms(side[2])} | {row['errors']} | {_ms(row['sla_p95_ms'])} |"
        )
    per_arrival = (ours + pg) / arrivals * 1000
    print(
        f"CPU per arrival (warm-up included): {per_arrival:.1f} ms (service + generator "
        f"{ours / arrivals * 1000:.1f}, PostgreSQL {pg / arrivals * 1000:.1f}); this run alone "
        f"would saturate 2 cores at {2000 / per_arrival:.0f}/s. Machine busy {busy / total:.0%} "
        f"of {os.cpu_count()} cores, of which this run {(ours + pg) / total:.0%}."
    )
    for reason in result.reasons:
        print(f"  incomplete: {reason}")
    for finding in result.findings:
        print(f"  {finding.severity.value}: {finding.message}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", type=float, nargs="+", default=[40.0, 60.0, 80.0])
    parser.add_argument("--duration", type=float, default=60.0, help="measured seconds per rate")
    parser.add_argument("--warmup", type=float, default=10.0)
    args = parser.parse_args()
    if len(args.rates) > MAX_RATES or not 0 < args.duration <= MAX_DURATION_S:
        parser.error(f"at most {MAX_RATES} rates and a duration in (0, {MAX_DURATION_S:g}] s")
    project = load_project(REPOSITORY_ROOT / "opsctl.yaml")
    definition = load_definition_of_done(project)
    if definition.load is None:
        parser.error("checks/definition-of-done.yaml has no load section")
    base = definition.load
    context = GateContext(
        project=project,
        definition_of_done=definition,
        environment_name="local",
        environment=get_environment(project, "local"),
        progress=lambda message: print(f"  {message}", flush=True),
    )
    started = time.monotonic()
    with _service(context, base) as (base_url, database_url):
        print(f"service ready in {time.monotonic() - started:.1f}s (migrations, seed, start)")
        meter = CpuMeter(database_url)
        for rate in args.rates:
            settings = base.model_copy(
                update={"rate": rate, "duration": args.duration, "warmup": args.warmup}
            )
            measure(settings, base_url, project.resolve(base.scenario), project.root, meter)


@contextmanager
def _service(context: GateContext, settings: LoadSettings) -> Iterator[tuple[str, str]]:
    """What ``opsctl.load.local_service`` does, keeping the database URL for the CPU meter."""
    admin_url = server_admin_url(context.project, context.environment)
    options = serve_options(settings)
    with throwaway_database(admin_url) as database_url:
        migrate_and_seed(context, options, database_url)
        with serve(context, options, database_url=database_url) as url:
            yield url, database_url


if __name__ == "__main__":
    main()
