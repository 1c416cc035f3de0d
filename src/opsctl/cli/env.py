"""``opsctl env``: list the environments and check one's health."""

from __future__ import annotations

from typing import Annotated

import typer

from opsctl.cli._context import exit_with, handle_errors, state

app = typer.Typer(
    help="Environments of the service (opsctl.yaml).\n\nExample: opsctl env check local",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _complete(ctx: typer.Context, incomplete: str) -> list[str]:
    from opsctl.cli import complete_environment

    return complete_environment(ctx, incomplete)


@app.command("list")
def list_environments(ctx: typer.Context) -> None:
    """List the environments: name, URL, database host (no secrets), protected.

    Example: opsctl env list
    """
    cli = state(ctx)
    with handle_errors(cli):
        from opsctl.environments.listing import EnvironmentList

        cli.console.print(EnvironmentList(cli.project(), cli.env_name))


@app.command("check")
def check(
    ctx: typer.Context,
    name: Annotated[
        str | None,
        typer.Argument(
            help="Environment to check (default: --env).",
            autocompletion=_complete,
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[
        float,
        typer.Option("--timeout", min=0.1, max=120, help="Seconds each probe may take."),
    ] = 5.0,
) -> None:
    """Check an environment: HTTP /healthz and /readyz, database and migrations, Redis.

    Each probe is bounded by --timeout and reports its latency. Exit 0 when everything is
    healthy, 3 when something is unreachable or unhealthy.

    Example: opsctl env check staging --timeout 3
    """
    cli = state(ctx)
    with handle_errors(cli):
        from opsctl.environments.health import check_environment
        from opsctl.errors import ExitCode

        chosen, environment = cli.environment(name)
        report = check_environment(cli.project(), chosen, environment, timeout_s=timeout)
        cli.console.print(report)
    exit_with(ExitCode.OK if report.healthy else ExitCode.INCOMPLETE)
