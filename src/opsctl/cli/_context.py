"""State shared by every command: the global options, the consoles, and error handling.

Global options are parsed once by the root callback into :class:`CliState`, stored on Typer's
context object. Commands get it with :func:`state` and load the project with
:meth:`CliState.project`. Every command body runs inside :func:`handle_errors`:

* an :class:`~opsctl.errors.OpsctlError` becomes one short message and its exit code;
* Ctrl-C becomes "interrupted" and exit 3 (``finally`` blocks have run: nothing is left behind);
* any other exception is a bug or an untranslated library error: one line naming it, a hint to
  rerun with ``--verbose``, and exit 3.

A traceback appears only with ``--verbose``. Every message goes through
:func:`opsctl.output.masking.mask_text`, so a password inside a library's error text is masked.

Consoles: :attr:`CliState.console` (stdout) carries results; :attr:`CliState.err_console`
(stderr) carries errors; :meth:`CliState.info` prints progress notes to stderr unless
``--quiet``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from opsctl.errors import ExitCode, InterruptedByUser, OpsctlError

if TYPE_CHECKING:
    from rich.console import Console

    from opsctl.config.models import EnvironmentConfig, LoadedProject

VERBOSE_HINT = "run with --verbose for the traceback"


@dataclass
class CliState:
    """The global options, as given on the command line (or their environment defaults)."""

    config_path: Path | None = None
    env_name: str = "local"
    verbose: bool = False
    quiet: bool = False
    no_color: bool = False
    _project: LoadedProject | None = field(default=None, repr=False)
    _consoles: dict[bool, Console] = field(default_factory=dict, repr=False)

    @property
    def colour_disabled(self) -> bool:
        # https://no-color.org: any non-empty NO_COLOR disables colour
        return self.no_color or bool(os.environ.get("NO_COLOR"))

    @property
    def console(self) -> Console:
        """Where results go (stdout)."""
        return self._console(stderr=False)

    @property
    def err_console(self) -> Console:
        """Where errors go (stderr), also with ``--quiet``."""
        return self._console(stderr=True)

    def info(self, message: str) -> None:
        """A progress note on stderr (Rich markup allowed); silent with ``--quiet``."""
        if not self.quiet:
            self.err_console.print(message, soft_wrap=True)

    def _console(self, *, stderr: bool) -> Console:
        # one Console per stream and invocation: created lazily, so CliRunner's captured
        # streams are the ones in use when a command first prints
        if stderr not in self._consoles:
            from rich.console import Console  # lazily: `opsctl --version` never needs it

            self._consoles[stderr] = Console(
                stderr=stderr,
                no_color=self.colour_disabled,
                # no styles at all (bold, underline) either: plain text for logs and pipes
                color_system=None if self.colour_disabled else "auto",
                highlight=False,
                soft_wrap=False,
            )
        return self._consoles[stderr]

    def project(self) -> LoadedProject:
        """The project configuration, loaded once per command."""
        if self._project is None:
            from opsctl.config.project import load_project

            self._project = load_project(self.config_path)
        return self._project

    def environment(self, name: str | None = None) -> tuple[str, EnvironmentConfig]:
        """The environment named by ``name``, else by ``--env``."""
        from opsctl.config.project import get_environment

        chosen = name or self.env_name
        return chosen, get_environment(self.project(), chosen)


def state(ctx: typer.Context) -> CliState:
    """The :class:`CliState` of this invocation (a default one when called outside the root)."""
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    return root.obj


def _masked(text: str) -> str:
    from opsctl.output.masking import mask_text

    return mask_text(text)


def report_error(cli: CliState, error: BaseException) -> ExitCode:
    """Print ``error`` the opsctl way and return the exit code it maps to."""
    from rich.markup import escape

    console = cli.err_console
    if cli.verbose:
        console.print_exception(show_locals=False)
    if isinstance(error, OpsctlError):
        console.print(f"[bold red]error:[/] {escape(_masked(str(error)))}", soft_wrap=True)
        return error.exit_code
    if isinstance(error, KeyboardInterrupt):
        console.print(f"[bold red]interrupted:[/] {InterruptedByUser.__doc__}")
        return ExitCode.INCOMPLETE
    first_line = (str(error).strip().splitlines() or [""])[0][:300]
    name = type(error).__name__
    message = f"{name}: {first_line}" if first_line else name
    console.print(f"[bold red]unexpected error:[/] {escape(_masked(message))}", soft_wrap=True)
    if not cli.verbose:
        console.print(f"  hint: {VERBOSE_HINT}", highlight=False)
    return ExitCode.INCOMPLETE


@contextlib.contextmanager
def handle_errors(cli: CliState) -> Iterator[None]:
    """Turn errors into one message and an exit code; tracebacks only with ``--verbose``."""
    try:
        yield
    except (typer.Exit, typer.Abort, typer.BadParameter):
        raise  # Typer's own control flow and usage errors (exit 2, with usage text)
    except (Exception, KeyboardInterrupt) as error:
        code = report_error(cli, error)
        raise typer.Exit(int(code)) from None


def exit_with(code: ExitCode) -> None:
    """End the command with ``code`` (use instead of ``sys.exit`` so tests can see it)."""
    if code is not ExitCode.OK:
        raise typer.Exit(int(code))


__all__ = ["CliState", "exit_with", "handle_errors", "report_error", "state"]
