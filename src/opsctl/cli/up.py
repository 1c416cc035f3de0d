"""``opsctl up``: the local environment for a developer, in one command.

Steps, in order: the database (the embedded server started on demand, or the configured one),
migrations to head (Alembic API, ``service.migrations``), the ``small`` seed data when the
plan's tables are empty (``service.seed``; ``--no-seed`` skips it), then the service
(``service.app`` or ``service.start``, started as the gates start it: :mod:`opsctl.serving`)
until Ctrl-C. Ctrl-C (or SIGTERM) stops what ``up``
started, including an embedded server it had to start; a server that was already running is
left running.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import typer

from opsctl.cli._context import CliState, handle_errors, state

if TYPE_CHECKING:
    from opsctl.config.models import EnvironmentConfig, LoadedProject
    from opsctl.database.embedded import EmbeddedServer

app = typer.Typer(
    help="Bring the local environment up.\n\nExample: opsctl up", rich_markup_mode=None
)


@dataclass
class _Database:
    url: str | None
    started: EmbeddedServer | None  # the embedded server, when up started it


@app.command("up")
def up(
    ctx: typer.Context,
    port: Annotated[int, typer.Option("--port", "-p", min=1, max=65535, help="HTTP port.")] = 8000,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (loopback by default).")
    ] = "127.0.0.1",
    no_seed: Annotated[
        bool,
        typer.Option("--no-seed", help="Do not load the small seed data into empty tables."),
    ] = False,
) -> None:
    """Start the database, migrate it to head, seed it and serve the service with GraphiQL.

    Uses the environment of --env (default: local). Seeds the 'small' scale of service.seed
    only when the plan's tables are empty, so a re-run keeps your data (opsctl seed --mode
    replace starts over). Prints where everything is; Ctrl-C stops everything it started.

    Example: opsctl up --port 8001 --no-seed
    """
    cli = state(ctx)
    with handle_errors(cli):
        from opsctl.errors import ConfigError, InterruptedByUser, RefusedError

        project = cli.project()
        name, environment = cli.environment()
        if environment.protected:
            raise RefusedError(
                f"environment '{name}' is protected: opsctl up only runs local environments",
                hint="use --env local",
            )
        if project.config.service.app is None and project.config.service.start is None:
            raise ConfigError(
                "opsctl up needs service.app ('module:attribute') or service.start",
                file=project.path.name,
                key="service.app",
            )
        _require_free_port(host, port)
        if not _is_loopback(host):
            cli.info(f"[yellow]warning:[/] listening on {host}: reachable from other machines")
        database = _Database(url=None, started=None)
        try:
            database = _prepare_database(cli, project, environment)
            _migrate(cli, project, database.url)
            _seed(cli, project, name, database.url, skip=no_seed)
            _serve(cli, project, name, environment, database.url, host, port)
        except (KeyboardInterrupt, InterruptedByUser):
            pass  # Ctrl-C (or SIGTERM) is how `up` is meant to end: not an error
        finally:
            if database.started is not None:
                database.started.stop()
                cli.info("stopped the embedded PostgreSQL server")
        cli.info("opsctl up: stopped")


def _prepare_database(
    cli: CliState, project: LoadedProject, environment: EnvironmentConfig
) -> _Database:
    from opsctl.config.models import EMBEDDED

    if environment.database_url is None or not environment.database_url.get_secret_value():
        cli.info("database: none configured")
        return _Database(url=None, started=None)
    if environment.database_url.get_secret_value() == EMBEDDED:
        from opsctl.database.embedded import EmbeddedServer
        from opsctl.database.servers import data_database_name

        server = EmbeddedServer.for_project(project).ensure_started()
        database = _Database(url=None, started=server if server.started_here else None)
        state_text = "started" if server.started_here else "already running"
        cli.info(f"database: embedded PostgreSQL {state_text} ({server.data_dir})")
        try:
            database.url = server.ensure_database(data_database_name(project.config.service.name))
        except BaseException:
            if database.started is not None:
                server.stop()
            raise
        return database
    from opsctl.database.servers import environment_database_url

    url = environment_database_url(project, environment)
    _require_reachable(url)
    return _Database(url=url, started=None)


def _require_reachable(url: str) -> None:
    """Fail fast (10 s at most) instead of letting the migrations hang on a dead host."""
    import psycopg

    from opsctl.errors import DatabaseError
    from opsctl.output.masking import mask_text, mask_url

    try:
        with psycopg.connect(url, connect_timeout=10):
            pass
    except psycopg.Error as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise DatabaseError(
            f"cannot connect to {mask_url(url)}: {mask_text(first)}",
            hint="start the database, or fix database_url (or DATABASE_URL) for this environment",
        ) from None


def _migrate(cli: CliState, project: LoadedProject, url: str | None) -> None:
    from opsctl.database.migrations import alembic_ini, upgrade_to_head

    ini = alembic_ini(project)
    if ini is None or url is None:
        return
    cli.info("migrations: upgrading to head …")
    upgrade_to_head(project, ini, url)


def _seed(cli: CliState, project: LoadedProject, name: str, url: str | None, *, skip: bool) -> None:
    """The small scale, into empty tables only: a re-run of ``up`` keeps the data there."""
    if url is None or project.config.service.seed is None:
        return
    if skip:
        cli.info("seed: skipped (--no-seed)")
        return
    from opsctl.seed import seed_environment
    from opsctl.seed.engine import AlreadySeeded, SeedResult

    cli.info("seed: the small scale, if the plan's tables are empty …")
    outcome = seed_environment(project, name, "small", only_if_empty=True)
    if isinstance(outcome, AlreadySeeded):
        found = ", ".join(
            f"{table} {rows:,} row{'' if rows == 1 else 's'}"
            for table, rows in outcome.existing.items()
        )
        if len(outcome.existing) > 2:  # one line, however many tables the plan has
            found = f"{outcome.rows:,} rows in {len(outcome.existing)} tables"
        cli.info(
            f"seed: skipped, the database already holds data ({found}); "
            "to start over: opsctl seed --mode replace"
        )
    elif isinstance(outcome, SeedResult):
        cli.info(
            f"seed: {outcome.rows:,} rows (scale small, seed 1) in "
            f"{outcome.load_seconds:.2f} s, fingerprint {outcome.fingerprint[:16]}"
        )


def _serve(
    cli: CliState,
    project: LoadedProject,
    name: str,
    environment: EnvironmentConfig,
    database_url: str | None,
    host: str,
    port: int,
) -> None:
    """The service as the gates start it (:mod:`opsctl.serving`), in the foreground."""
    from opsctl.output.masking import mask_url
    from opsctl.serving.foreground import serve_in_foreground

    base = f"http://{_url_host(host)}:{port}"
    lines = [
        f"[bold green]{project.config.service.name} is up[/] (environment {name})",
        f"  API       {base}",
        f"  GraphiQL  {base}/graphql",
        f"  health    {base}/healthz  {base}/readyz",
        f"  database  {mask_url(database_url) if database_url else 'none'}",
        "  Ctrl-C stops everything opsctl up started",
    ]

    def on_ready() -> None:
        for line in lines:
            cli.info(line)

    redis = environment.redis_url
    serve_in_foreground(
        project,
        database_url=database_url,
        redis_url=redis.get_secret_value() if redis is not None else None,
        host=host,
        port=port,
        log_level="warning" if cli.quiet else "info",
        access_log=cli.verbose,
        on_ready=on_ready,
    )


def _require_free_port(host: str, port: int) -> None:
    from opsctl.errors import DependencyError

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            raise DependencyError(
                f"cannot listen on {host}:{port}: {error.strerror}",
                hint="choose another port with --port",
            ) from None


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
