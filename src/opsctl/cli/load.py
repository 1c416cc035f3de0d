"""``opsctl load``: run a Locust scenario at a fixed arrival rate, without a verdict.

The verdict is ``opsctl verify load`` (the load gate); this group is for exploring: a live
table while it runs, the per-operation numbers at the end, optionally the HTML report.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from opsctl.cli._context import CliState, handle_errors, state

if TYPE_CHECKING:
    from opsctl.gates.load.settings import LoadSettings
    from opsctl.load.launcher import LoadPlan

app = typer.Typer(
    help="Run load scenarios (open model, HDR histograms) without a verdict.\n\n"
    "Example: opsctl load run --url http://127.0.0.1:8000 --rate 20 --duration 30s",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _settings(cli: CliState) -> LoadSettings | None:
    """The Definition of Done's load section, when there is a project that has one."""
    from opsctl.config.project import find_config_file
    from opsctl.definition_of_done import load_definition_of_done

    if cli.config_path is None and find_config_file(Path.cwd()) is None:
        return None
    section: LoadSettings | None = load_definition_of_done(cli.project()).load
    return section


@app.command("run")
def run(
    ctx: typer.Context,
    scenario: Annotated[
        Path | None,
        typer.Option("--scenario", "-f", help="Locust file (default: the DoD's load.scenario)."),
    ] = None,
    url: Annotated[
        str | None,
        typer.Option("--url", help="Base URL to load (default: the environment's url)."),
    ] = None,
    rate: Annotated[
        float | None, typer.Option("--rate", min=0.1, help="Arrivals per second (default: DoD).")
    ] = None,
    duration: Annotated[
        str | None, typer.Option("--duration", help="Measured time, e.g. 30s (default: DoD).")
    ] = None,
    warmup: Annotated[
        str | None, typer.Option("--warmup", help="Excluded time first, e.g. 5s (default: DoD).")
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", min=0, max=64, help="Local worker processes.")
    ] = None,
    html: Annotated[
        Path | None, typer.Option("--html", dir_okay=False, help="Also write the HTML report.")
    ] = None,
    expect_workers: Annotated[
        int | None,
        typer.Option(
            "--expect-workers",
            min=0,
            help="Also wait for this many stock `locust --worker`s from elsewhere (default: DoD).",
        ),
    ] = None,
    expect_workers_max_wait: Annotated[
        str | None,
        typer.Option("--expect-workers-max-wait", help="How long to wait for them, e.g. 60s."),
    ] = None,
    master_bind: Annotated[
        str | None,
        typer.Option(
            "--master-bind",
            help="host:port the master listens on (default 127.0.0.1; port 5557 when workers "
            "join from elsewhere).",
        ),
    ] = None,
    live: Annotated[bool, typer.Option("--live/--no-live", help="Show the live table.")] = True,
) -> None:
    """Run a scenario at a fixed arrival rate and print P50/P95/P99 per operation.

    Latency counts from when each request was due (open model), warm-up excluded. Refuses a
    protected environment. Unset options come from the Definition of Done's load section.

    Example: opsctl load run --url http://127.0.0.1:8000 --rate 20 --duration 30s
    """
    cli = state(ctx)
    with handle_errors(cli):
        from rich.live import Live

        from opsctl.config.durations import parse_duration
        from opsctl.errors import RefusedError, UsageError
        from opsctl.load.launcher import LoadPlan, Progress, run_generators
        from opsctl.load.summary import LiveTable, RunSummary
        from opsctl.load.verdict import run_problems

        section = _settings(cli) if (scenario is None or url is None or rate is None) else None
        if url is None:
            name, environment = cli.environment()
            if environment.protected:
                raise RefusedError(f"refusing to load the protected environment '{name}'")
            url = environment.url
        chosen = scenario or (cli.project().resolve(section.scenario) if section else None)
        if chosen is None or not chosen.is_file():
            raise UsageError(f"no scenario file: {chosen or 'give --scenario'}")
        try:
            warmup_s = parse_duration(warmup) if warmup else (section.warmup if section else 5.0)
            duration_s = (
                parse_duration(duration) if duration else (section.duration if section else 30.0)
            )
        except ValueError as error:
            raise UsageError(str(error)) from None
        try:
            max_wait_s = (
                parse_duration(expect_workers_max_wait)
                if expect_workers_max_wait
                else (section.expect_workers_max_wait if section else 60.0)
            )
        except ValueError as error:
            raise UsageError(str(error)) from None
        plan = LoadPlan(
            scenario=chosen,
            host=url.rstrip("/"),
            rate=rate or (section.rate if section else 10.0),
            warmup_s=warmup_s,
            duration_s=duration_s,
            workers=workers if workers is not None else (section.workers if section else 1),
            import_root=Path.cwd(),
            expect_workers=(
                expect_workers
                if expect_workers is not None
                else (section.expect_workers if section else 0)
            ),
            master_bind=master_bind or (section.master_bind if section else None),
            expect_workers_max_wait_s=max_wait_s,
        )
        if plan.generators < 1:
            raise UsageError("--workers 0 needs --expect-workers 1 or more")
        _check_bind(plan)
        progress_view = LiveTable(Progress())
        with Live(
            progress_view, console=cli.err_console, auto_refresh=False, transient=True
        ) as display:

            def on_progress(progress: Progress) -> None:
                progress_view.progress = progress
                if live and not cli.quiet:
                    display.refresh()

            outcome = run_generators(plan, on_progress=on_progress)
        problems = run_problems(
            outcome.data, max_lag_ms=_max_lag(section), max_stall_ms=_max_stall(section)
        )
        cli.console.print(RunSummary(outcome.data, problems))
        if html is not None:
            from opsctl.load.html_report import render_html
            from opsctl.load.verdict import exploration_result

            result = exploration_result(outcome.data, problems)
            html.parent.mkdir(parents=True, exist_ok=True)
            page = render_html(result, outcome.data, title=f"opsctl load run: {chosen.name}")
            html.write_text(page, encoding="utf-8")
            cli.info(f"HTML report: {html}")


def _max_lag(section: LoadSettings | None) -> float:
    from opsctl.gates.load.settings import DEFAULT_MAX_GENERATOR_LAG_MS

    return section.max_generator_lag_ms if section else DEFAULT_MAX_GENERATOR_LAG_MS


def _max_stall(section: LoadSettings | None) -> float:
    from opsctl.gates.load.settings import DEFAULT_MAX_GENERATOR_STALL_MS

    return section.max_generator_stall_ms if section else DEFAULT_MAX_GENERATOR_STALL_MS


def _check_bind(plan: LoadPlan) -> None:
    from opsctl.errors import UsageError

    try:
        plan.bind()
    except ValueError as error:
        raise UsageError(f"--master-bind {error}") from error


@app.command("worker")
def worker(
    ctx: typer.Context,
    master: Annotated[
        str, typer.Option("--master", help="Host (or host:port) of the opsctl running the run.")
    ],
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Its master port.")] = 5557,
    scenario: Annotated[
        Path | None,
        typer.Option("--scenario", "-f", help="Locust file (default: the DoD's load.scenario)."),
    ] = None,
) -> None:
    """Join a load run from this machine: a stock Locust worker, with opsctl's hooks.

    The same as `locust -f SCENARIO --worker --master-host HOST --master-port PORT` (what the
    docs show for Kubernetes); this machine runs the scenario file it has, and the master
    refuses the run if that file differs from its own. Runs until the master ends the run.
    Start the run with --expect-workers N and a --master-bind reachable from here.

    Example: opsctl load worker --master loadgen-1.example.test:5557 -f loadtests/reference_api.py
    """
    cli = state(ctx)
    with handle_errors(cli):
        import subprocess  # nosec B404 - Locust's own CLI, argument list

        from opsctl.errors import ExitCode, InterruptedByUser, UsageError
        from opsctl.load.launcher import worker_command

        host, separator, port_text = master.rpartition(":")
        if separator and port_text.isdigit() and "]" not in port_text:  # --master HOST:PORT
            master, port = host.strip("[]"), int(port_text)
        section = _settings(cli) if scenario is None else None
        chosen = scenario or (cli.project().resolve(section.scenario) if section else None)
        if chosen is None or not chosen.is_file():
            raise UsageError(f"no scenario file: {chosen or 'give --scenario'}")
        # Locust (gevent) monkey-patches: it runs in a process of its own, never in this one.
        try:
            code = subprocess.run(  # nosec B603
                worker_command(chosen, master, port), check=False
            ).returncode
        except KeyboardInterrupt:
            raise InterruptedByUser("load worker stopped") from None
        if code != 0:
            raise typer.Exit(int(ExitCode.INCOMPLETE))
