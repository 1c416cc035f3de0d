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
        int | None, typer.Option("--workers", min=1, max=64, help="Generator processes.")
    ] = None,
    html: Annotated[
        Path | None, typer.Option("--html", dir_okay=False, help="Also write the HTML report.")
    ] = None,
    remote_workers: Annotated[
        int,
        typer.Option(
            "--remote-workers", min=0, help="Also wait for this many `opsctl load worker`s."
        ),
    ] = 0,
    master_bind: Annotated[
        str,
        typer.Option("--master-bind", help="host:port remote workers connect to."),
    ] = "127.0.0.1:5557",
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
        plan = LoadPlan(
            scenario=chosen,
            host=url.rstrip("/"),
            rate=rate or (section.rate if section else 10.0),
            warmup_s=warmup_s,
            duration_s=duration_s,
            workers=workers or (section.workers if section else 1),
            import_root=Path.cwd(),
            remote_workers=remote_workers,
            master_bind=master_bind,
        )
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


@app.command("worker")
def worker(
    ctx: typer.Context,
    master: Annotated[
        str, typer.Option("--master", help="Host (or host:port) of the opsctl running the run.")
    ],
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Its master port.")] = 5557,
) -> None:
    """Join a load run from another machine, over Locust's master/worker protocol.

    Runs until the master ends the run. The master sends the scenario; this machine needs
    opsctl installed, not the repository. Start the run with --remote-workers N (or
    remote_workers in the Definition of Done) and master_bind reachable from here.

    Example: opsctl load worker --master loadgen-1.example.test --port 5557
    """
    cli = state(ctx)
    with handle_errors(cli):
        import subprocess
        import sys

        from opsctl.errors import ExitCode, InterruptedByUser

        host, separator, port_text = master.rpartition(":")
        if separator and port_text.isdigit() and "]" not in port_text:  # --master HOST:PORT
            master, port = host, int(port_text)
        # Locust (gevent) monkey-patches: it runs in a process of its own, never in this one.
        command = [sys.executable, "-m", "opsctl.load.distributed", "worker",
                   "--master", master, "--port", str(port)]  # fmt: skip
        try:
            code = subprocess.run(command, check=False).returncode
        except KeyboardInterrupt:
            raise InterruptedByUser("load worker stopped") from None
        if code != 0:
            raise typer.Exit(int(ExitCode.INCOMPLETE))
