"""Start or resume a run: everything that happens before the first step and after the last.

Order (nothing touches the environment before the last of the checks):
validate the runbook → check the environment is allowed → check parameters → resolve secrets →
typed confirmation for a protected environment → take the lock → record → steps → release.
"""

from __future__ import annotations

import difflib
import functools
import signal
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from rich.console import Console
from rich.markup import escape

from opsctl.config.models import EnvironmentConfig, LoadedProject
from opsctl.config.project import get_environment
from opsctl.errors import InterruptedByUser, OpsctlError, RefusedError, UsageError
from opsctl.runbook.display import Display, StdinPrompter
from opsctl.runbook.executor import RunOutcome, RunSetup, execute
from opsctl.runbook.load import LoadedRunbook, content_hash, find_runbook, load_runbook
from opsctl.runbook.lock import RunLock, describe
from opsctl.runbook.params import resolve_params
from opsctl.runbook.records import RunRecorder, actor, find_run, new_run_id, read_run, runs_dir
from opsctl.runbook.secrets import Masker, current_environ, resolve_secrets
from opsctl.runbook.steps.interface import NoAnswerError, Prompter


@dataclass
class RunRequest:
    name: str
    env_name: str
    params: dict[str, str] = field(default_factory=dict)
    reason: str | None = None
    dry_run: bool = False
    yes: bool = False


@dataclass
class _Prepared:
    loaded: LoadedRunbook
    env: EnvironmentConfig
    secrets: dict[str, str]
    masker: Masker
    display: Display
    prompter: Prompter
    database_url: Callable[[], str]
    env_extra: dict[str, Any]


def run_runbook(
    project: LoadedProject,
    request: RunRequest,
    *,
    console: Console,
    prompter: Prompter | None = None,
    environ: Mapping[str, str] | None = None,
) -> RunOutcome:
    loaded = load_runbook(
        find_runbook(project, request.name),
        display=_display_path(project, request.name),
        environments=project.config.environments,
    )
    prep = _prepare(project, loaded, request.env_name, console, prompter, environ)
    params = resolve_params(loaded.runbook, request.params)
    run_id = new_run_id(loaded.runbook.name)
    who = actor()
    confirmation = _confirm_protected(prep, request.env_name, who)
    lock = RunLock(project.root, loaded.runbook.name, request.env_name)
    if request.dry_run:
        holder = lock.holder()
        if holder is not None:
            prep.display.say(f"note: a real run holds the lock: {describe(holder)}", style="yellow")
    else:
        lock.acquire(run_id, who)
    try:
        recorder = RunRecorder(runs_dir(project.root) / f"{run_id}.jsonl", prep.masker)
        recorder.write(
            "run_started",
            run_id=run_id,
            runbook=loaded.runbook.name,
            file=loaded.display,
            content_hash=loaded.content_hash,
            content=loaded.text,
            env=request.env_name,
            protected=prep.env.protected,
            params=params,
            secret_refs=loaded.runbook.secrets,
            actor=who,
            reason=request.reason,
            dry_run=request.dry_run,
            confirmation=confirmation,
            lock_taken_over=lock.took_over,
        )
        mode = " (dry run: mutating steps are simulated)" if request.dry_run else ""
        prep.display.markup(
            f"[bold]runbook {escape(loaded.runbook.name)}[/] on [bold]{escape(request.env_name)}"
            f"[/]{escape(mode)} — run {run_id}"
        )
        setup = _setup(
            project,
            prep,
            run_id,
            request.env_name,
            params,
            who,
            request.reason,
            request.dry_run,
            request.yes,
            recorder,
        )
        return _execute(setup, lock)
    finally:
        lock.release()


def resume_runbook(
    project: LoadedProject,
    run_id: str,
    *,
    console: Console,
    reason: str | None = None,
    prompter: Prompter | None = None,
    environ: Mapping[str, str] | None = None,
) -> RunOutcome:
    path = find_run(project.root, run_id)
    state = read_run(path)
    start = state.start
    if not start:
        raise UsageError(f"{path} has no run_started event: not a run record")
    run_id = state.run_id
    status = state.status
    if start.get("dry_run"):
        raise RefusedError("a dry run is not resumed; start a real run with `opsctl runbook run`")
    if status in ("succeeded", "running"):
        raise RefusedError(f"run {run_id} is {status}: there is nothing to resume")
    name = str(start.get("runbook"))
    runbook_path = find_runbook(project, name)
    current = runbook_path.read_text(encoding="utf-8")
    if content_hash(current) != start.get("content_hash"):
        diff = "".join(
            difflib.unified_diff(
                str(start.get("content", "")).splitlines(keepends=True),
                current.splitlines(keepends=True),
                fromfile=f"{name}.yaml (run {run_id})",
                tofile=f"{name}.yaml (now)",
            )
        )
        console.print(escape(diff), highlight=False)
        raise RefusedError(
            f"runbook {name} changed since run {run_id} started (difference above)",
            hint="resume only runs the same runbook; start a new run with `opsctl runbook run`",
        )
    loaded = load_runbook(
        runbook_path,
        display=_display_path(project, name),
        environments=project.config.environments,
    )
    env_name = str(start.get("env"))
    prep = _prepare(project, loaded, env_name, console, prompter, environ)
    params = resolve_params(loaded.runbook, dict(start.get("params") or {}))
    who = actor()
    confirmation = _confirm_protected(prep, env_name, who)
    pending = [
        s for s in loaded.runbook.steps if not (s.id in state.steps and state.steps[s.id].done)
    ]
    lock = RunLock(project.root, name, env_name)
    lock.acquire(run_id, who)
    try:
        recorder = RunRecorder(path, prep.masker)
        decision = None
        first = pending[0] if pending else None
        earlier = state.steps.get(first.id) if first else None
        if first is not None and earlier is not None and earlier.started and first.is_mutating:
            decision = _confirm_rerun(prep, first.id, first.kind, earlier.status, who)
        recorder.write(
            "run_resumed",
            actor=who,
            reason=reason,
            from_step=first.id if first else None,
            confirmation=confirmation,
            rerun_decision=decision,
        )
        if decision is not None and decision["answer"].lower() not in ("y", "yes"):
            recorder.write("run_finished", status=status, note="resume declined")
            recorder.close()
            raise RefusedError(
                f"not re-running {first.id if first else ''}: resume declined",
                hint=f"check the step's effect, then `opsctl runbook resume {run_id}` again",
            )
        prep.display.markup(
            f"[bold]resuming run {run_id}[/] of {escape(name)} on {escape(env_name)}"
            f" from step {escape(first.id if first else '(none left)')}"
        )
        setup = _setup(project, prep, run_id, env_name, params, who, reason, False, False, recorder)
        setup.done = state.steps
        return _execute(setup, lock)
    finally:
        lock.release()


def _prepare(
    project: LoadedProject,
    loaded: LoadedRunbook,
    env_name: str,
    console: Console,
    prompter: Prompter | None,
    environ: Mapping[str, str] | None,
) -> _Prepared:
    runbook = loaded.runbook
    if runbook.environments and env_name not in runbook.environments:
        raise RefusedError(
            f"runbook {runbook.name} may not run in {env_name!r} "
            f"(its environments: {', '.join(runbook.environments)})"
        )
    env = get_environment(project, env_name)
    values = resolve_secrets(
        runbook.secrets,
        root=project.root,
        environ=current_environ() if environ is None else environ,
        file=loaded.display,
    )
    masker = Masker(list(values.values()))
    for url in (env.database_url, env.redis_url):
        if url is not None and url.get_secret_value() != "embedded":
            masker.add_url(url.get_secret_value())
    display = Display(console, masker)

    @functools.cache
    def database_url() -> str:
        from opsctl.database.servers import environment_database_url

        url = environment_database_url(project, env)
        masker.add_url(url)
        return url

    extra: dict[str, Any] = {
        "has_redis": bool(env.redis_url and env.redis_url.get_secret_value()),
        "has_database": bool(env.database_url and env.database_url.get_secret_value()),
    }
    if env.redis_url is not None:
        extra["redis_url"] = env.redis_url.get_secret_value()
    if "env.database_url" in loaded.text:
        # resolved now, so a missing or unreachable database stops the run before any step
        extra["database_url"] = database_url()
    return _Prepared(
        loaded,
        env,
        values,
        masker,
        display,
        prompter or StdinPrompter(console, masker),
        database_url,
        extra,
    )


def _setup(
    project: LoadedProject,
    prep: _Prepared,
    run_id: str,
    env_name: str,
    params: dict[str, Any],
    who: dict[str, Any],
    reason: str | None,
    dry_run: bool,
    yes: bool,
    recorder: RunRecorder,
) -> RunSetup:
    return RunSetup(
        loaded=prep.loaded,
        run_id=run_id,
        env_name=env_name,
        base_url=prep.env.url,
        protected=prep.env.protected,
        params=params,
        secrets=prep.secrets,
        env_extra=prep.env_extra,
        database_url=prep.database_url,
        root=project.root,
        actor=who,
        reason=reason,
        dry_run=dry_run,
        yes=yes,
        masker=prep.masker,
        prompter=prep.prompter,
        display=prep.display,
        recorder=recorder,
    )


def _execute(setup: RunSetup, lock: RunLock) -> RunOutcome:
    try:
        with _sigterm_as_interrupt():
            outcome = execute(setup)
    except KeyboardInterrupt:
        raise InterruptedByUser(
            f"run {setup.run_id} stopped by Ctrl-C; the step was stopped and recorded,"
            " the lock released",
            hint=f"opsctl runbook resume {setup.run_id}",
        ) from None
    finally:
        setup.recorder.close()
        lock.release()
    _summary(setup, outcome)
    return outcome


def _summary(setup: RunSetup, outcome: RunOutcome) -> None:
    display, run_id = setup.display, setup.run_id
    record = f"opsctl runbook log {run_id}"
    if setup.dry_run:
        display.markup(
            f"[bold]dry run:[/] ran {outcome.executed} read-only step(s) for real, "
            f"simulated {outcome.simulated} mutating step(s) without running them, "
            f"skipped {outcome.dependent} read-only step(s) that need their outputs, "
            f"did not ask {outcome.not_asked} human step(s), left {outcome.unverified} "
            "assertion(s) after simulated steps unchecked. Nothing was changed."
        )
    if outcome.status == "succeeded":
        display.markup(
            f"[green bold]✓ {escape(setup.loaded.runbook.name)} {outcome.status}[/]"
            f" — record: {escape(record)}"
        )
        return
    step = setup.loaded.runbook.step(outcome.failed_step) if outcome.failed_step else None
    display.markup(
        f"[red bold]✗ {escape(setup.loaded.runbook.name)} failed[/] at step "
        f"[bold]{escape(outcome.failed_step or '?')}[/]"
    )
    display.say(f"  what happened: {outcome.error}")
    if step is not None and step.description:
        display.say(f"  what the step does: {' '.join(step.description.split())}")
    display.say(
        f"  what to do next: fix the cause, then `opsctl runbook resume {run_id}` "
        "(finished steps are not run again); full record: " + record
    )


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM stops the run like Ctrl-C (step stopped, recorded, lock released)."""

    def handler(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _confirm_protected(
    prep: _Prepared, env_name: str, who: dict[str, Any]
) -> dict[str, Any] | None:
    """A protected environment needs its name typed; ``--yes`` never answers this."""
    if not prep.env.protected:
        return None
    question = f"{env_name} is a protected environment. Type its name to continue:"
    try:
        answer = prep.prompter.ask(question)
    except NoAnswerError:
        raise RefusedError(
            f"{env_name} is protected: a typed confirmation is needed and input is closed"
        ) from None
    if answer != env_name:
        raise RefusedError(f"confirmation did not match {env_name!r}: nothing was done")
    return {"typed": env_name, "by": who.get("user")}


def _confirm_rerun(
    prep: _Prepared, step_id: str, kind: str, status: str, who: dict[str, Any]
) -> dict[str, Any]:
    note = " (its transaction was rolled back)" if kind == "sql" else ""
    question = (
        f"step {step_id} is mutating and may have half-run before the run stopped "
        f"(last status: {status}){note}. Check its effect. Re-run it? [y/N]"
    )
    try:
        answer = prep.prompter.ask(question)
    except NoAnswerError:
        answer = ""
    return {"question": question, "answer": answer or "no answer", "by": who.get("user")}


def _display_path(project: LoadedProject, name: str) -> str:
    return str(Path("runbooks") / f"{name}.yaml")


__all__ = ["OpsctlError", "RunRequest", "resume_runbook", "run_runbook"]
