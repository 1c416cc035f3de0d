"""The ``opsctl`` command: a root Typer app composed of one Typer app per command group.

Start-up stays fast: command modules import heavy libraries (SQLAlchemy, Alembic, Locust,
Ariadne, psycopg, httpx, pydantic) inside their command functions, never at module level
(``tests/opsctl/cli/test_startup.py`` holds them to it).
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from opsctl import __version__
from opsctl.cli import config as config_cli
from opsctl.cli import db as db_cli
from opsctl.cli import env as env_cli
from opsctl.cli import init as init_cli
from opsctl.cli import load as load_cli
from opsctl.cli import runbook as runbook_cli
from opsctl.cli import seed as seed_cli
from opsctl.cli import up as up_cli
from opsctl.cli import verify as verify_cli
from opsctl.cli._context import CliState, report_error
from opsctl.errors import ExitCode, InterruptedByUser

app = typer.Typer(
    name="opsctl",
    help=(
        "Operations and quality CLI for backend services: verify, seed, run runbooks, go up.\n\n"
        "Exit codes: 0 success, 1 a check failed, 2 usage or configuration error, "
        "3 could not complete.\n\n"
        "Example: opsctl --env staging env check"
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"opsctl {__version__}")
        raise typer.Exit()


def complete_environment(ctx: typer.Context, incomplete: str) -> list[str]:
    """Shell completion of environment names, read from opsctl.yaml (nothing on error)."""
    from opsctl.errors import OpsctlError

    config = ctx.find_root().params.get("config")
    try:
        from opsctl.config.project import load_project

        names = load_project(Path(config) if config else None).config.environments
    except (OpsctlError, OSError):
        return []
    return [name for name in names if name.startswith(incomplete)]


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="opsctl.yaml, or the folder holding it (default: found here or in a parent).",
            envvar="OPSCTL_CONFIG",
        ),
    ] = None,
    env: Annotated[
        str,
        typer.Option(
            "--env",
            "-e",
            help="Environment to act on.",
            envvar="OPSCTL_ENV",
            autocompletion=complete_environment,
        ),
    ] = "local",
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", help="Show tracebacks of errors (and access logs in opsctl up)."
        ),
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress notes; results and errors only.")
    ] = False,
    no_color: Annotated[
        bool, typer.Option("--no-color", help="No colours (also when NO_COLOR is set).")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Global options apply to every command."""
    ctx.obj = CliState(
        config_path=config, env_name=env, verbose=verbose, quiet=quiet, no_color=no_color
    )


# Command groups: one module each (src/opsctl/cli/<group>.py).
app.add_typer(config_cli.app, name="config")
app.add_typer(env_cli.app, name="env")
app.add_typer(db_cli.app, name="db")
app.add_typer(runbook_cli.app, name="runbook")
app.add_typer(load_cli.app, name="load")
app.command("init")(init_cli.init)
app.command("up")(up_cli.up)
app.command("seed")(seed_cli.seed)
app.command("verify")(verify_cli.verify)


def _help_of(*candidates: object) -> str | None:
    for candidate in candidates:
        if isinstance(candidate, str) and candidate:
            return candidate
    return None


def _root_help_app() -> typer.Typer:
    """The root app with every command replaced by a stub carrying only its help text.

    ``opsctl --help`` needs only the commands' names and first lines, but Typer would inspect
    the signature and type hints of every command of every group first (most of the start-up
    time). tests/opsctl/cli/test_root.py checks the output is the same as the full app's.
    """
    import inspect

    shallow = typer.Typer(
        name=app.info.name,
        help=app.info.help,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )
    shallow.callback()(root)
    for command in app.registered_commands:
        text = _help_of(command.help, inspect.getdoc(command.callback))
        shallow.command(command.name, help=text, hidden=command.hidden)(lambda: None)
    for group in app.registered_groups:
        assert group.typer_instance is not None  # add_typer always sets it
        info = group.typer_instance.info
        callback = group.typer_instance.registered_callback
        text = _help_of(
            group.help,
            info.help,
            inspect.getdoc(callback.callback) if callback and callback.callback else None,
        )
        stub = typer.Typer(help=text, hidden=group.hidden is True)
        stub.command("stub")(lambda: None)
        shallow.add_typer(stub, name=group.name)
    return shallow


def _terminate(signum: int, _frame: FrameType | None) -> None:
    # SIGTERM (CI cancelling a job, `kill`) unwinds like Ctrl-C, so `finally` blocks drop
    # throwaway databases and stop what the command started
    raise InterruptedByUser(f"terminated by signal {signum}")


def main() -> None:
    """Console-script entry point."""
    if sys.argv[1:] == ["--version"]:
        # fast path: Typer builds every command (signatures, type hints) before parsing
        print(f"opsctl {__version__}")
        return
    signal.signal(signal.SIGTERM, _terminate)
    if sys.argv[1:] == ["--help"]:
        _root_help_app()(prog_name="opsctl")
        return
    try:
        app()
    except (Exception, KeyboardInterrupt) as error:
        # outside a command's handle_errors (option parsing, callbacks): same rules
        verbose = "--verbose" in sys.argv[1:] or "-v" in sys.argv[1:]
        code = report_error(CliState(verbose=verbose), error)
        sys.exit(int(code))
    sys.exit(int(ExitCode.OK))
