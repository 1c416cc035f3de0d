"""The service under load on ``local``: started by opsctl for one run, torn down after.

Each part where the service has it: a throwaway database on the environment's server,
migrations to head, the seed plan at ``seed_scale``, then ``service.app`` served by uvicorn with
``server_workers`` processes on a free loopback port. Everything is undone on exit, also on
error or Ctrl-C (the database is dropped by :func:`throwaway_database`).

With several server workers, each worker process has its own Prometheus registry, and the
server-side P95 would come from whichever worker answered the scrape. The service gets a fresh
``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's multiprocess mode, in which any worker's
``/metrics`` merges every worker's values), removed after the service has stopped.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import IO

from opsctl.errors import ConfigError, DependencyError
from opsctl.gates.interface import GateContext
from opsctl.gates.load.settings import LoadSettings

READY_TIMEOUT_S = 90.0
READY_PATHS = ("/readyz", "/healthz", "/")
#: prometheus-client's multiprocess mode: one directory shared by the service's workers.
MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def local_service(context: GateContext, settings: LoadSettings) -> Iterator[str]:
    """Yield the base URL of a freshly started, seeded service; stop it and drop its data after."""
    from opsctl.database.servers import server_admin_url
    from opsctl.database.throwaway import throwaway_database

    project = context.project
    if context.environment.database_url is None:
        with _serve(context, settings, database_url=None) as url:
            yield url
        return
    admin_url = server_admin_url(project, context.environment)
    with throwaway_database(admin_url) as database_url:
        _migrate_and_seed(context, settings, database_url)
        with _serve(context, settings, database_url=database_url) as url:
            yield url


def _migrate_and_seed(context: GateContext, settings: LoadSettings, database_url: str) -> None:
    from opsctl.database.migrations import alembic_ini, upgrade_to_head

    project = context.project
    ini = alembic_ini(project)
    if ini is not None:
        context.progress("load: migrating a throwaway database to head")
        upgrade_to_head(ini, database_url)
    if project.config.service.seed:
        from opsctl.seed.engine import Mode, SeedOptions
        from opsctl.seed.runner import load_plan, parse_scale, seed_database, today_utc

        try:
            scale = parse_scale(settings.seed_scale)
        except ValueError as error:
            raise ConfigError(str(error), key="load.seed_scale") from None
        context.progress(f"load: seeding ({settings.seed_scale})")
        seed_database(
            database_url,
            load_plan(project),
            SeedOptions(scale=scale, seed=1, mode=Mode.REPLACE, anchor=today_utc()),
            alembic_ini=ini,
            plan_name=project.config.service.seed,
        )


@contextlib.contextmanager
def _serve(
    context: GateContext, settings: LoadSettings, *, database_url: str | None
) -> Iterator[str]:
    with (
        _metrics_directory(settings) as metrics_environment,
        _run_service(
            context, settings, database_url=database_url, extra=metrics_environment
        ) as url,
    ):
        yield url


@contextlib.contextmanager
def _metrics_directory(settings: LoadSettings) -> Iterator[dict[str, str]]:
    """``PROMETHEUS_MULTIPROC_DIR`` of a fresh directory when several workers serve."""
    if settings.server_workers <= 1 or MULTIPROC_VARIABLE in settings.service_environment:
        yield {}
        return
    with tempfile.TemporaryDirectory(prefix="opsctl-load-metrics-") as directory:
        yield {MULTIPROC_VARIABLE: directory}


@contextlib.contextmanager
def _run_service(
    context: GateContext,
    settings: LoadSettings,
    *,
    database_url: str | None,
    extra: dict[str, str],
) -> Iterator[str]:
    project = context.project
    app = project.config.service.app or ""
    port = free_port()
    environment = {
        **os.environ,
        "APP_ENV": os.environ.get("APP_ENV", "development"),
        # several server workers must share one signing secret (random, for this run only)
        "JWT_SECRET": secrets.token_urlsafe(32),
        "PYTHONPATH": os.pathsep.join(
            [str(project.root), str(project.root / "src"), os.environ.get("PYTHONPATH", "")]
        ),
        **extra,
        **settings.service_environment,
    }
    if database_url is not None:
        environment["DATABASE_URL"] = database_url
    redis = context.environment.redis_url
    if redis is not None and redis.get_secret_value():
        environment["REDIS_URL"] = redis.get_secret_value()
    command = [
        sys.executable, "-m", "uvicorn", "--factory", app,
        "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(settings.server_workers),
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed below)
    context.progress(f"load: starting {app} with {settings.server_workers} uvicorn worker(s)")
    process = subprocess.Popen(
        command, cwd=project.root, env=environment, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(process, url, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


def _wait_ready(process: subprocess.Popen[bytes], url: str, log: IO[bytes]) -> None:
    import httpx

    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DependencyError(f"the service exited at start-up: {_tail(log)}")
        for path in READY_PATHS:
            try:
                if httpx.get(url + path, timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                continue
        time.sleep(0.3)
    raise DependencyError(f"the service was not ready within {READY_TIMEOUT_S:.0f}s: {_tail(log)}")


def _tail(log: IO[bytes]) -> str:
    from opsctl.output.masking import mask_text

    log.seek(0)
    text = log.read().decode("utf-8", "replace").strip()
    return mask_text(text[-800:]) if text else "(no output)"
