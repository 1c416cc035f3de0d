"""Start the service for one run and tear it down after (database, migrations, seed, server).

Each part where the service has it: a throwaway database on the environment's server,
migrations to head, the seed plan at ``seed_scale``, then ``service.app`` served by uvicorn
with ``workers`` processes (or ``service.start``) on a free loopback port. Everything is undone
on exit, also on error or Ctrl-C (the database is dropped by ``throwaway_database``).

With several workers, each worker process has its own Prometheus registry, and a scrape would
see whichever worker answered. The service gets a fresh ``PROMETHEUS_MULTIPROC_DIR``
(prometheus-client's multiprocess mode: any worker's ``/metrics`` merges every worker's
values), removed after the service has stopped.

Environment values may contain ``{run_secret}``: one random value for this run, the same in
every worker (several workers must share e.g. one token-signing secret).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from opsctl.errors import ConfigError, DependencyError
from opsctl.gates.interface import GateContext
from opsctl.processes import stop_group

if TYPE_CHECKING:
    from opsctl.config.models import LoadedProject

READY_TIMEOUT_S = 90.0
READY_PATHS = ("/readyz", "/healthz", "/")
#: How long a served app gets to shut down cleanly on SIGTERM before it is killed.
SERVICE_GRACE_S = 15.0
#: prometheus-client's multiprocess mode: one directory shared by the service's workers.
MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
#: Replaced, in environment values, by one random secret per run.
RUN_SECRET = "{run_secret}"  # noqa: S105 (a placeholder, not a secret)


@dataclass(frozen=True)
class ServeOptions:
    """How to start the service: server workers, seed scale, extra variables, own database."""

    workers: int = 1
    seed_scale: str | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    database: bool = True  # a throwaway database (when the environment has a server)
    progress_label: str = "service"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def started_service(context: GateContext, options: ServeOptions) -> Iterator[str]:
    """Yield the base URL of a freshly started service; stop it and drop its data after."""
    from opsctl.database.servers import server_admin_url
    from opsctl.database.throwaway import throwaway_database

    if not options.database or context.environment.database_url is None:
        with serve(context, options, database_url=None) as url:
            yield url
        return
    admin_url = server_admin_url(context.project, context.environment)
    with throwaway_database(admin_url) as database_url:
        migrate_and_seed(context, options, database_url)
        with serve(context, options, database_url=database_url) as url:
            yield url


def migrate_and_seed(context: GateContext, options: ServeOptions, database_url: str) -> None:
    from opsctl.database.migrations import alembic_ini, upgrade_to_head

    project = context.project
    ini = alembic_ini(project)
    if ini is not None:
        context.progress(f"{options.progress_label}: migrating a throwaway database to head")
        upgrade_to_head(project, ini, database_url)
    if project.config.service.seed and options.seed_scale:
        from opsctl.seed.engine import Mode, SeedOptions
        from opsctl.seed.runner import load_plan, parse_scale, seed_database, today_utc

        try:
            scale = parse_scale(options.seed_scale)
        except ValueError as error:
            raise ConfigError(str(error), key="seed_scale") from None
        context.progress(f"{options.progress_label}: seeding ({options.seed_scale})")
        seed_database(
            database_url,
            load_plan(project),
            SeedOptions(scale=scale, seed=1, mode=Mode.REPLACE, anchor=today_utc()),
            alembic_ini=ini,
            plan_name=project.config.service.seed,
        )


@contextlib.contextmanager
def serve(
    context: GateContext, options: ServeOptions, *, database_url: str | None
) -> Iterator[str]:
    """The service on a free loopback port, with its metrics directory when several workers."""
    with (
        metrics_directory(options.workers, options.environment) as metrics_environment,
        _run_service(context, options, database_url=database_url, extra=metrics_environment) as url,
    ):
        yield url


@contextlib.contextmanager
def metrics_directory(workers: int, environment: Mapping[str, str]) -> Iterator[dict[str, str]]:
    """``PROMETHEUS_MULTIPROC_DIR`` of a fresh directory when several workers serve."""
    if workers <= 1 or MULTIPROC_VARIABLE in environment:
        yield {}
        return
    with tempfile.TemporaryDirectory(prefix="opsctl-load-metrics-") as directory:
        yield {MULTIPROC_VARIABLE: directory}


def process_environment(
    context: GateContext,
    options: ServeOptions,
    *,
    database_url: str | None,
    extra: Mapping[str, str],
) -> dict[str, str]:
    """The service's environment, built by :func:`service_environment` (database last)."""
    redis = context.environment.redis_url
    return project_environment(
        context.project,
        environment=options.environment,
        database_url=database_url,
        redis_url=redis.get_secret_value() if redis is not None else None,
        extra=extra,
    )


def project_environment(
    project: LoadedProject,
    *,
    environment: Mapping[str, str],
    database_url: str | None,
    redis_url: str | None,
    extra: Mapping[str, str],
) -> dict[str, str]:
    """``service.env``, then ``environment``, then the database, over opsctl's environment."""
    from opsctl.config.service_wiring import service_environment

    base = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(project.root), str(project.root / "src"), os.environ.get("PYTHONPATH", "")]
        ),
    }
    if redis_url:
        base["REDIS_URL"] = redis_url
    run_secret = secrets.token_urlsafe(32)
    variables = {**extra, **project.config.service.env, **environment}
    filled = {name: value.replace(RUN_SECRET, run_secret) for name, value in variables.items()}
    return service_environment(
        base=base,
        database_env=project.config.service.database_env,
        extra=filled,
        database_url=database_url,
    )


@contextlib.contextmanager
def _run_service(
    context: GateContext,
    options: ServeOptions,
    *,
    database_url: str | None,
    extra: dict[str, str],
) -> Iterator[str]:
    from opsctl.serving.apps import probe_app, start_command, uvicorn_command

    project = context.project
    service = project.config.service
    port = free_port()
    environment = process_environment(context, options, database_url=database_url, extra=extra)
    if service.start:
        command = start_command(service.start, host="127.0.0.1", port=port)
        described = " ".join(command[:3])
    elif service.app:
        kind = probe_app(
            service.app, root=project.root, environment=environment, file=project.path.name
        )
        command, shim = uvicorn_command(
            service.app, kind, host="127.0.0.1", port=port, workers=options.workers
        )
        environment.update(shim)
        described = f"{service.app} ({kind.value}) with {options.workers} uvicorn worker(s)"
    else:
        raise ConfigError(
            "starting the service needs service.app or service.start",
            file=project.path.name,
            key="service.app",
        )
    log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed below)
    context.progress(f"{options.progress_label}: starting {described}")
    try:
        process = subprocess.Popen(  # its own group: stopped whole, wrapper and workers
            command,
            cwd=project.root,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as error:
        log.close()
        raise DependencyError(f"cannot start {command[0]}: {error.strerror}") from error
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(process, url, log)
        yield url
    finally:
        stop_group(process, grace=SERVICE_GRACE_S)
        log.close()


def wait_ready(process: subprocess.Popen[bytes], url: str, log: IO[bytes] | None) -> None:
    import httpx

    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DependencyError(f"the service exited at start-up: {_tail(log)}")
        if _is_ready(httpx, url):
            return
        time.sleep(0.3)
    raise DependencyError(f"the service was not ready within {READY_TIMEOUT_S:.0f}s: {_tail(log)}")


def _is_ready(httpx: Any, url: str) -> bool:
    """A 200 from the first health path the service has; without any, an answer from ``/``.

    A health path that answers 5xx (503 while starting) is waited for; one that is missing or
    not a health path here (404, or a 401/302 of a login wall in front of it) is passed over,
    and a service with none is up once it answers ``/`` below 500.
    """
    for path in READY_PATHS:
        try:
            status = httpx.get(url + path, timeout=2.0).status_code
        except httpx.HTTPError:
            return False
        if status == 200:
            return True
        if path != "/" and status >= 500:
            return False  # the service has this health path, and it says not ready
        if path == "/":
            return bool(status < 500)
    return False


def _tail(log: IO[bytes] | None) -> str:
    from opsctl.processes import output_tail

    return "see its output above" if log is None else output_tail(log)
