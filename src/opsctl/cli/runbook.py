"""``opsctl runbook``: list, show, validate, run, resume runbooks, and read their run records.

Heavy modules (pydantic models, httpx, psycopg, jinja2) are imported inside the commands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from opsctl.cli._context import CliState, exit_with, handle_errors, state
from opsctl.errors import ExitCode

if TYPE_CHECKING:
    from opsctl.config.models import LoadedProject
    from opsctl.runbook.records import RunState

app = typer.Typer(
    help=(
        "Runbooks (runbooks/<name>.yaml): checked procedures run step by step against an "
        "environment, with dry run, resume, locks, typed confirmation and run records.\n\n"
        "Example: opsctl runbook run api-latency-high --env local"
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
)

ParamsOption = Annotated[
    list[str] | None,
    typer.Option("--param", "-p", help="A parameter as key=value (repeatable)."),
]


@app.command("list")
def list_runbooks(ctx: typer.Context) -> None:
    """List the runbooks of this repository, with the alerts they answer.

    Example: opsctl runbook list
    """
    cli = state(ctx)
    with handle_errors(cli):
        from opsctl.runbook.load import check_file, load_runbook, runbook_files
        from opsctl.runbook.views import RunbookList

        project = cli.project()
        good, broken = [], []
        for path in runbook_files(project):
            display = str(path.relative_to(project.root))
            envs = project.config.environments
            problems = check_file(path, display=display, environments=envs)
            if problems:
                broken.append(problems[0])
            else:
                good.append(load_runbook(path, display=display, environments=envs))
        cli.console.print(RunbookList(good, broken))


@app.command("show")
def show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Runbook name (file name without .yaml).")],
    env: Annotated[str | None, typer.Option("--env", "-e", help="Render for this env.")] = None,
    param: ParamsOption = None,
) -> None:
    """Show a runbook: parameters, and each step rendered, marking the ones that mutate.

    Example: opsctl runbook show revoke-user-sessions -p email=ada@example.com
    """
    cli = state(ctx)
    with handle_errors(cli):
        from opsctl.runbook.load import find_runbook, load_runbook
        from opsctl.runbook.params import ParamError, coerce, parse_assignments
        from opsctl.runbook.views import RunbookShow

        project = cli.project()
        loaded = load_runbook(find_runbook(project, name), display=f"runbooks/{name}.yaml")
        env_name, environment = cli.environment(env)
        given = parse_assignments(param or [])
        values = {}
        for key, spec in loaded.runbook.params.items():
            raw = given.get(key, spec.default)
            try:
                values[key] = None if raw is None else coerce(spec, raw)
            except ParamError:
                values[key] = raw  # shown as given; `run` reports the problem
        context = {
            "params": {k: v for k, v in values.items() if v is not None},
            "env": {"name": env_name, "url": environment.url, "protected": environment.protected},
            "run": {"id": "<run id>", "actor": "<you>", "dry_run": False, "reason": None},
            "steps": {},
        }
        cli.console.print(RunbookShow(loaded, context))


@app.command("validate")
def validate(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="One runbook (default: all).")] = None,
) -> None:
    """Check runbooks before anything runs: keys, types, step references, secrets, timeouts.

    Exit code 2 when any runbook is invalid; each problem names file, line and key.

    Example: opsctl runbook validate
    """
    cli = state(ctx)
    with handle_errors(cli):
        from opsctl.runbook.load import check_file, find_runbook, runbook_files
        from opsctl.runbook.views import ValidationReport

        project = cli.project()
        paths = [find_runbook(project, name)] if name else runbook_files(project)
        envs = project.config.environments
        checked = []
        for path in paths:
            display = str(path.relative_to(project.root))
            checked.append((display, check_file(path, display=display, environments=envs)))
        report = ValidationReport(checked)
        cli.console.print(report)
        if not paths:
            cli.info("no runbooks in runbooks/")
        if not report.ok:
            exit_with(ExitCode.USAGE)


@app.command("run")
def run(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Runbook name.")],
    env: Annotated[
        str | None, typer.Option("--env", "-e", help="Environment (default: global --env).")
    ] = None,
    param: ParamsOption = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why (incident id); recorded.")
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Run read-only steps; show mutating ones, run none."),
    ] = False,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes",
            "-y",
            help="Answer confirm steps with yes (never on a protected environment).",
        ),
    ] = False,
) -> None:
    """Run a runbook against an environment, recording every step under .opsctl/runs/.

    Exit code 0 when it succeeded, 1 when a step failed, 2 when refused, 3 when interrupted.

    Example: opsctl runbook run revoke-user-sessions -e staging -p email=ada@example.com
    """
    cli = state(ctx)
    with handle_errors(cli):
        from opsctl.runbook.params import parse_assignments
        from opsctl.runbook.session import RunRequest, run_runbook

        request = RunRequest(
            name=name,
            env_name=env or cli.env_name,
            params=parse_assignments(param or []),
            reason=reason,
            dry_run=dry_run,
            yes=yes,
        )
        outcome = run_runbook(cli.project(), request, console=cli.console)
    _finish(cli, outcome.status)


@app.command("resume")
def resume(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="Run id (or a unique prefix).")],
    reason: Annotated[str | None, typer.Option("--reason", help="Why; recorded.")] = None,
) -> None:
    """Continue a failed or interrupted run from the step that did not finish.

    Finished steps are not run again (their recorded outputs are used). Refuses when the
    runbook file changed since; asks before re-running a mutating step that may have half-run.

    Example: opsctl runbook resume 20261126T170800-revoke-user-sessions-1a2b3c
    """
    cli = state(ctx)
    with handle_errors(cli):
        from opsctl.runbook.session import resume_runbook

        outcome = resume_runbook(cli.project(), run_id, console=cli.console, reason=reason)
    _finish(cli, outcome.status)


@app.command("history")
def history(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Newest runs to show.")] = 20,
) -> None:
    """List recorded runs, newest first: who ran what, where, why, and how it ended.

    Example: opsctl runbook history -n 5
    """
    cli = state(ctx)
    with handle_errors(cli):
        from opsctl.runbook.records import list_runs
        from opsctl.runbook.views import RunHistory

        project = cli.project()
        runs = list_runs(project.root)[:limit]
        cli.console.print(RunHistory([_masked_run(project, run) for run in runs]))


@app.command("log")
def log(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="Run id (or a unique prefix).")],
    raw: Annotated[bool, typer.Option("--json", help="Print the JSON-lines record.")] = False,
) -> None:
    """Show one run's record: parameters, actor, reason, and every step event and decision.

    Example: opsctl runbook log 20261126T170800-api-latency-high-1a2b3c
    """
    cli = state(ctx)
    with handle_errors(cli):
        from opsctl.runbook.records import find_run, read_run
        from opsctl.runbook.views import RunLog

        project = cli.project()
        run = _masked_run(project, read_run(find_run(project.root, run_id)))
        if raw:
            typer.echo(run.text, nl=False)
            return
        cli.console.print(RunLog(run))


def _masked_run(project: LoadedProject, run: RunState) -> RunState:
    """The run as recorded, masked again with the secrets that can be resolved now."""
    from opsctl.runbook.records import masked_run
    from opsctl.runbook.secrets import current_environ, masker_for_record

    env = project.config.environments.get(str(run.start.get("env")))
    urls = [
        url.get_secret_value() if url is not None else None
        for url in ((env.database_url, env.redis_url) if env is not None else ())
    ]
    masker = masker_for_record(
        dict(run.start.get("secret_refs") or {}),
        root=project.root,
        environ=current_environ(),
        urls=urls,
    )
    return masked_run(run, masker)


def _finish(cli: CliState, status: str) -> None:
    del cli
    exit_with(ExitCode.OK if status == "succeeded" else ExitCode.CHECK_FAILED)
