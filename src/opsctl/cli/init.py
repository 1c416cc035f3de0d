"""``opsctl init``: adopt opsctl in a service's repository, without editing the service."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from opsctl.cli._context import CliState, handle_errors, state
from opsctl.errors import UsageError

if TYPE_CHECKING:
    from opsctl.init.drafting import Draft
    from opsctl.init.inspection import Inspection

CI_KINDS = ("github", "gitlab")


def init(
    ctx: typer.Context,
    path: Annotated[
        Path, typer.Argument(help="The service's repository (default: here).", file_okay=False)
    ] = Path(),
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="No questions: take every default.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Replace files that exist and would change.")
    ] = False,
    measure: Annotated[
        bool,
        typer.Option("--measure", help="Run the tests once to set the coverage floor (ratchet)."),
    ] = False,
    ci: Annotated[
        list[str] | None,
        typer.Option("--ci", help="Also write a CI workflow: github or gitlab (repeatable)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be written; write nothing.")
    ] = False,
) -> None:
    """Inspect the repository and write opsctl.yaml and a starting Definition of Done.

    It reads the service's locks, tests, Alembic setup, app, settings and models (without
    running its code, but to list its routes), prints what it found and what it could not
    decide, and writes the files. A file that exists is never replaced without --force: a
    second run shows what it would change.

    Example: opsctl init --yes --measure
    """
    cli = state(ctx)
    with handle_errors(cli):
        _init(cli, path, yes=yes, force=force, measure=measure, ci=ci or [], dry_run=dry_run)


def _init(
    cli: CliState,
    path: Path,
    *,
    yes: bool,
    force: bool,
    measure: bool,
    ci: list[str],
    dry_run: bool,
) -> None:
    from opsctl.init.drafting import draft
    from opsctl.init.files import Change, write
    from opsctl.init.inspect_repository import inspect_repository

    unknown = [kind for kind in ci if kind not in CI_KINDS]
    if unknown:
        raise UsageError(f"--ci {unknown[0]}: expected one of {', '.join(CI_KINDS)}")
    if not path.is_dir():
        raise UsageError(f"{path}: not a folder")
    interactive = not yes and sys.stdin.isatty()
    inspection = inspect_repository(path)
    if interactive and not ci:
        answer = typer.prompt("Write a CI workflow? (github, gitlab, none)", default="none")
        ci = [answer] if answer in CI_KINDS else []
    if interactive and not measure and inspection.has_tests:
        measure = typer.confirm("Run the tests once to set the coverage floor?", default=True)
    result = draft(inspection, ci=ci, measure=measure, progress=cli.info)
    _show(cli, inspection, result)
    changed = [item for item in result.planned if item.change is Change.CHANGED]
    for item in changed:
        cli.console.print(item.diff.rstrip("\n"), markup=False, highlight=False, soft_wrap=True)
    pending = [item for item in result.planned if item.change is not Change.UNCHANGED]
    if not pending:
        cli.console.print("Nothing to write: every file is as `opsctl init` would write it.")
        return
    if dry_run:
        cli.console.print("Dry run: nothing written.")
        return
    if interactive and not typer.confirm(
        f"Write {', '.join(item.shown for item in pending)}?", default=True
    ):
        cli.console.print("Nothing written.")
        return
    written = write(result.planned, force=force)
    names = ", ".join(f"{item.shown} ({item.change.value})" for item in written)
    cli.console.print(f"Wrote {names}.")
    cli.console.print("Next: opsctl verify")


def _show(cli: CliState, inspection: Inspection, result: Draft) -> None:
    """One screen: what was found (and where), what was decided, what is left to the user."""
    out = cli.console
    out.print(f"opsctl init: {inspection.name} ({inspection.root})", markup=False, soft_wrap=True)
    for found in inspection.found:
        out.print(
            f"  found  {found.what}: {found.value}  [{found.source}]", markup=False, soft_wrap=True
        )
    if inspection.other_locks:
        out.print(
            f"  note   other locks, not audited: {', '.join(inspection.other_locks)}", markup=False
        )
    if inspection.env_files and inspection.database_env:
        out.print(
            f"  note   opsctl's database values override {', '.join(inspection.env_files)}",
            markup=False,
        )
    for note in result.notes:
        out.print(f"  note   {note}", markup=False, soft_wrap=True)
    for question in inspection.undecided:
        out.print(f"  decide {question}", markup=False, soft_wrap=True)
    for item in result.planned:
        out.print(f"  file   {item.shown}: {item.change.value}", markup=False, soft_wrap=True)
