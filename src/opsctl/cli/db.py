"""``opsctl db``: the embedded PostgreSQL server of this repository (``database_url: embedded``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from opsctl.cli._context import CliState, handle_errors, state

if TYPE_CHECKING:
    from opsctl.database.embedded import EmbeddedServer

app = typer.Typer(
    help=(
        "The embedded PostgreSQL server (data under .opsctl/, started on demand).\n\n"
        "Example: opsctl db status"
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _server(cli: CliState) -> EmbeddedServer:
    from opsctl.database.embedded import EmbeddedServer

    return EmbeddedServer.for_project(cli.project())


@app.command("start")
def start(ctx: typer.Context) -> None:
    """Start the embedded server (creating it on first use); a running one is reused.

    Example: opsctl db start
    """
    cli = state(ctx)
    with handle_errors(cli):
        server = _server(cli).ensure_started()
        status = server.status()
        verb = "started" if server.started_here else "already running"
        cli.info(f"embedded PostgreSQL {verb} on 127.0.0.1:{status.port} ({status.data_dir})")


@app.command("stop")
def stop(ctx: typer.Context) -> None:
    """Stop the embedded server (its data stays under .opsctl/).

    Example: opsctl db stop
    """
    cli = state(ctx)
    with handle_errors(cli):
        stopped = _server(cli).stop()
        cli.info(
            "embedded PostgreSQL stopped" if stopped else "embedded PostgreSQL was not running"
        )


@app.command("status")
def status(ctx: typer.Context) -> None:
    """Show whether the embedded server runs, where, and from which data folder.

    Example: opsctl db status
    """
    cli = state(ctx)
    with handle_errors(cli):
        current = _server(cli).status()
        if current.running:
            line = (
                f"running  pid {current.pid}  127.0.0.1:{current.port}  PostgreSQL {current.major}"
            )
        elif current.initialised:
            line = f"stopped  PostgreSQL {current.major}"
        else:
            line = "not created yet (created on first use)"
        cli.console.print(f"{line}\ndata: {current.data_dir}", markup=False, highlight=False)


@app.command("url")
def url(
    ctx: typer.Context,
    show_password: Annotated[
        bool, typer.Option("--show-password", help="Print the password instead of ***.")
    ] = False,
) -> None:
    """Print the URL of the environment's data database (starting the embedded server).

    Works for any environment (--env); secrets stay masked unless --show-password.

    Example: opsctl db url
    """
    cli = state(ctx)
    with handle_errors(cli):
        from opsctl.database.servers import environment_database_url
        from opsctl.output.masking import mask_url

        _name, environment = cli.environment()
        value = environment_database_url(cli.project(), environment)
        shown = value if show_password else mask_url(value)
        cli.console.print(shown, markup=False, highlight=False, soft_wrap=True)
