"""Start or resume a run: everything that happens before the first step and after the last.

Order (nothing touches the environment before the last of the checks):
validate the runbook → check the environment is allowed → check parameters → resolve secrets →
typed confirmation for a protected environment → take the locks → record → steps → release.
The checks before the locks are in :mod:`.preparation`, the locks in :mod:`.run_locks`.
"""

from __future__ import annotations

import difflib
import signal
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from rich.console import Console
from rich.markup import escape

from opsctl.config.models import LoadedProject
from opsctl.errors import InterruptedByUser, OpsctlError, RefusedError, UsageError
from opsctl.runbook.executor import RunOutcome, RunSetup, execute
from opsctl.runbook.load import content_hash, find_runbook, load_runbook
from opsctl.runbook.lock import RunLock, describe
from opsctl.runbook.params import resolve_params
from opsctl.runbook.preparation import (
    Prepared,
    confirm_protected,
    confirm_rerun,
    display_path,
    masked_errors,
    prepare,
)
from opsctl.runbook.records import (
    RunRecorder,
    RunState,
    actor,
    find_run,
    new_run_id,
    read_run,
    runs_dir,
)
from opsctl.runbook.run_locks import HeldLocks, take_locks
from opsctl.runbook.steps.interface import Prompter


@dataclass
class RunRequest:
    name: str
    env_name: str
    params: dict[str, str] = field(default_factory=dict)
    reason: str | None = None
    dry_run: bool = False
    yes: bool = False


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
        display=display_path(request.name),
        environments=project.config.environments,
    )
    prep = prepare(project, loaded, request.env_name, console, prompter, environ)
    with masked_errors(prep.masker):
        return _run(project, prep, request)


def _run(project: LoadedProject, prep: Prepared, request: RunRequest) -> RunOutcome:
    loaded = prep.loaded
    params = resolve_params(loaded.runbook, request.params)
    run_id = new_run_id(loaded.runbook.name)
    who = actor()
    confirmation = confirm_protected(prep, request.env_name, who)
    locks = None
    if request.dry_run:
        holder = RunLock(project.root, loaded.runbook.name, request.env_name).holder()
        if holder is not None:
            prep.display.say(f"note: a real run holds the lock: {describe(holder)}", style="yellow")
    else:
        locks = take_locks(project, prep, request.env_name, run_id, who)
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
            lock_taken_over=locks.took_over if locks else None,
            database_lock=locks.database_status if locks else None,
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
        return _execute(setup, locks)
    finally:
        if locks is not None:
            locks.release()


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
        display=display_path(name),
        environments=project.config.environments,
    )
    env_name = str(start.get("env"))
    prep = prepare(project, loaded, env_name, console, prompter, environ)
    with masked_errors(prep.masker):
        return _resume(project, prep, state, env_name, reason)


def _resume(
    project: LoadedProject, prep: Prepared, state: RunState, env_name: str, reason: str | None
) -> RunOutcome:
    loaded, run_id, status = prep.loaded, state.run_id, state.status
    params = resolve_params(loaded.runbook, dict(state.start.get("params") or {}))
    who = actor()
    confirmation = confirm_protected(prep, env_name, who)
    pending = [
        s for s in loaded.runbook.steps if not (s.id in state.steps and state.steps[s.id].done)
    ]
    locks = take_locks(project, prep, env_name, run_id, who)
    try:
        recorder = RunRecorder(state.path, prep.masker)
        decision = None
        first = pending[0] if pending else None
        earlier = state.steps.get(first.id) if first else None
        if first is not None and earlier is not None and earlier.started and first.is_mutating:
            decision = confirm_rerun(prep, first.id, first.kind, earlier.status, who)
        recorder.write(
            "run_resumed",
            actor=who,
            reason=reason,
            from_step=first.id if first else None,
            confirmation=confirmation,
            rerun_decision=decision,
            lock_taken_over=locks.took_over,
            database_lock=locks.database_status,
        )
        if decision is not None and decision["answer"].lower() not in ("y", "yes"):
            recorder.write("run_finished", status=status, note="resume declined")
            recorder.close()
            raise RefusedError(
                f"not re-running {first.id if first else ''}: resume declined",
                hint=f"check the step's effect, then `opsctl runbook resume {run_id}` again",
            )
        prep.display.markup(
            f"[bold]resuming run {run_id}[/] of {escape(loaded.runbook.name)} on "
            f"{escape(env_name)} from step {escape(first.id if first else '(none left)')}"
        )
        setup = _setup(project, prep, run_id, env_name, params, who, reason, False, False, recorder)
        setup.done = state.steps
        return _execute(setup, locks)
    finally:
        locks.release()


def _setup(
    project: LoadedProject,
    prep: Prepared,
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


def _execute(setup: RunSetup, locks: HeldLocks | None) -> RunOutcome:
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
        if locks is not None:
            locks.release()
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


__all__ = ["OpsctlError", "RunRequest", "masked_errors", "resume_runbook", "run_runbook"]
