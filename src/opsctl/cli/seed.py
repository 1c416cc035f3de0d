"""``opsctl seed``: load the service's seed plan into an environment's database."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from opsctl.cli._context import handle_errors, state

app = typer.Typer(rich_markup_mode=None)


def _scale(value: str) -> str:
    from opsctl.seed.runner import parse_scale

    try:
        parse_scale(value)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    return value


def _anchor(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"'{value}' is not a date like 2026-01-31") from None
    return value


@app.command("seed")
def seed(
    ctx: typer.Context,
    env: Annotated[
        str | None,
        typer.Option("--env", "-e", help="Environment to seed (default: the global --env)."),
    ] = None,
    scale: Annotated[
        str,
        typer.Option(
            "--scale",
            help="small (hundreds of rows), medium (a dev box), large (>= 1 M rows) or a total "
            "row count.",
            callback=_scale,
        ),
    ] = "small",
    seed_value: Annotated[
        int, typer.Option("--seed", help="Seed of every generated value.", min=0)
    ] = 1,
    mode: Annotated[
        str,
        typer.Option(
            "--mode",
            help="replace: empty the plan's tables first; append: add after existing rows.",
            case_sensitive=False,
        ),
    ] = "replace",
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Print tables, row counts, size, what would be removed."),
    ] = False,
    anchor_date: Annotated[
        str | None,
        typer.Option(
            "--anchor-date",
            help="'Today' for due dates and timestamps (default: today, UTC; also "
            "OPSCTL_SEED_ANCHOR_DATE). Pin it to reproduce a fingerprint on another day.",
            envvar="OPSCTL_SEED_ANCHOR_DATE",
            callback=_anchor,
        ),
    ] = None,
) -> None:
    """Fill an environment's database with the service's deterministic test data.

    One transaction (a failed or interrupted seed changes nothing), binary COPY, ANALYZE after.
    Refuses protected environments and databases not at the Alembic head (exit 2). Ends by
    printing the fingerprint of what was written: same seed, scale and anchor date, same
    fingerprint.

    Example: opsctl seed --scale medium --seed 7
    """
    cli = state(ctx)
    with handle_errors(cli):
        from opsctl.errors import UsageError
        from opsctl.seed.engine import Mode
        from opsctl.seed.report import RichProgress
        from opsctl.seed.runner import parse_scale, seed_environment

        try:
            chosen_mode = Mode(mode.lower())
        except ValueError:
            raise UsageError(f"--mode {mode}: use replace or append") from None
        env_name, _ = cli.environment(env)
        sink = RichProgress.create(cli.err_console)
        if not (dry_run or cli.quiet):
            sink.progress.start()
        try:
            outcome = seed_environment(
                cli.project(),
                env_name,
                parse_scale(scale),
                seed_value=seed_value,
                mode=chosen_mode,
                anchor=date.fromisoformat(anchor_date) if anchor_date else None,
                dry_run_only=dry_run,
                progress=None if dry_run else sink,
            )
        finally:
            sink.progress.stop()
        cli.console.print(outcome.render())
