"""``opsctl verify``: run the Definition of Done as gates, then write the reports."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from opsctl.cli._context import CliState, exit_with, handle_errors, state
from opsctl.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from opsctl.reports.interface import VerifyRun

GateNames = Annotated[
    list[str] | None,
    typer.Argument(
        help="Gates to run (default: every section of the Definition of Done).", show_default=False
    ),
]


def verify(
    ctx: typer.Context,
    gates: GateNames = None,
    env: Annotated[
        str | None, typer.Option("--env", "-e", help="Environment (default: the global --env).")
    ] = None,
    base: Annotated[
        str | None,
        typer.Option("--base", help="Ref for diff coverage (default: merge base with main)."),
    ] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, max=16, help="Gates at once.")] = 2,
    fail_fast: Annotated[
        bool, typer.Option("--fail-fast", help="Stop the other gates when one fails.")
    ] = False,
    json_path: Annotated[
        Path | None, typer.Option("--json", dir_okay=False, help="Write the JSON report.")
    ] = None,
    junit_path: Annotated[
        Path | None, typer.Option("--junit", dir_okay=False, help="Write JUnit XML.")
    ] = None,
    markdown_path: Annotated[
        Path | None, typer.Option("--markdown", dir_okay=False, help="Write the Markdown summary.")
    ] = None,
    sarif_path: Annotated[
        Path | None, typer.Option("--sarif", dir_okay=False, help="Write SARIF 2.1.0.")
    ] = None,
    advisory_db: Annotated[
        Path | None,
        typer.Option(
            "--advisory-db",
            file_okay=False,
            help="OSV advisory folder (PyPA layout) to audit against (overrides advisory_db).",
        ),
    ] = None,
) -> None:
    """Run the Definition of Done's gates (coverage, security, ...) and report the verdict.

    Each gate passes, fails, is incomplete (it could not judge) or is skipped. Exit 1 if any
    gate failed, else 3 if any is incomplete, else 0. Reports are written in every case, also
    after a crash or Ctrl-C (then marked partial). Under GitHub Actions, failing lines are
    annotated and the Markdown summary is appended to $GITHUB_STEP_SUMMARY.

    Example: opsctl verify coverage security --json verify.json --junit verify.xml
    """
    cli = state(ctx)
    with handle_errors(cli):
        reports = {"json": json_path, "junit": junit_path, "markdown": markdown_path}
        reports["sarif"] = sarif_path
        code = _run(cli, list(gates or []), env, base, jobs, fail_fast, reports, advisory_db)
        exit_with(code)


def _run(
    cli: CliState,
    names: list[str],
    env: str | None,
    base: str | None,
    jobs: int,
    fail_fast: bool,
    reports: dict[str, Path | None],
    advisory_db: Path | None,
) -> ExitCode:
    import contextlib
    import threading
    from collections.abc import Callable

    from opsctl.definition_of_done import load_definition_of_done
    from opsctl.gates.interface import GateContext
    from opsctl.gates.registry import known_gates, load_gate
    from opsctl.gates.runner import RunAbortedError, run_gates
    from opsctl.reports.console import RunSummary
    from opsctl.reports.interface import ReportError, environment_masker
    from opsctl.reports.provenance import collect as collect_provenance

    project = cli.project()
    env_name, environment = cli.environment(env)
    dod = load_definition_of_done(project)
    named = list(names)  # asked for by name: skipping one of them cannot pass
    if not names:
        names = dod.sections()
        if not names:
            raise UsageError(
                f"{project.config.definition_of_done} has no gate section "
                f"(known gates: {', '.join(known_gates())})"
            )
    gates = [load_gate(name) for name in dict.fromkeys(names)]
    if advisory_db is not None and not advisory_db.is_dir():
        raise UsageError(f"--advisory-db {advisory_db}: no such folder")
    options = {"advisory_db": str(advisory_db.resolve()) if advisory_db else None, "jobs": jobs}

    def make_context(progress: Callable[[str], None], cancelled: threading.Event) -> GateContext:
        return GateContext(
            project=project,
            definition_of_done=dod,
            environment_name=env_name,
            environment=environment,
            base_ref=base,
            progress=progress,
            cancelled=cancelled,
            options=options,
        )

    provenance = collect_provenance(
        project.root, project.path, project.resolve(project.config.definition_of_done)
    ).as_dict()
    try:
        run = run_gates(
            gates,
            make_context,
            project=project.config.service.name,
            environment=env_name,
            base_ref=base,
            jobs=jobs,
            fail_fast=fail_fast,
            console=None if cli.quiet else cli.err_console,
            masker=environment_masker(environment, project.secret_values),
        )
    except RunAbortedError as aborted:
        aborted.run.named_gates, aborted.run.provenance = named, provenance
        # a refusal or a configuration error ends verify with its own exit code (2): the
        # partial reports are still written, then the error is reported (masked) as such
        with contextlib.suppress(ReportError):  # each problem was printed; exit 2 comes first
            _deliver(cli, aborted.run, reports)
        raise
    run.named_gates, run.provenance = named, provenance
    cli.console.print(RunSummary(run))
    _deliver(cli, run, reports)
    return run.exit_code


def _deliver(cli: CliState, run: VerifyRun, reports: dict[str, Path | None]) -> None:
    """Write every requested report (each atomically), then the GitHub Actions extras."""
    from opsctl.reports.github import annotation_lines, under_github_actions, write_step_summary
    from opsctl.reports.interface import ReportError, write_atomic
    from opsctl.reports.json_report import JsonReport
    from opsctl.reports.junit import JunitReport
    from opsctl.reports.markdown import MarkdownReport
    from opsctl.reports.sarif import SarifReport

    writers = {"json": JsonReport(), "junit": JunitReport(), "markdown": MarkdownReport()}
    writers["sarif"] = SarifReport()
    problems: list[str] = []
    for kind, path in reports.items():
        if path is None:
            continue
        try:
            write_atomic(path, writers[kind].render(run))
        except ReportError as error:  # the other reports are still written
            problems.append(str(error))
    if under_github_actions():
        for line in annotation_lines(run):
            typer.echo(line)
        try:
            write_step_summary(run)
        except ReportError as error:
            problems.append(str(error))
    for problem in problems:
        cli.err_console.print(f"error: {problem}", markup=False, highlight=False)
    if problems:
        raise ReportError(f"{len(problems)} report(s) could not be written")
