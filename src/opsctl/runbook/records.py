"""Run records: one append-only JSON-lines file per run under ``<repo>/.opsctl/runs/``.

Each event is one line written with a single ``write`` and flushed to disk (``fsync``) before
the run goes on, so a crash (even ``kill -9``) leaves every earlier event intact. Everything is
masked before it is written. :func:`read_run` folds the events back into a :class:`RunState`,
which ``history``, ``log`` and ``resume`` read.
"""

from __future__ import annotations

import datetime
import getpass
import json
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsctl.errors import UsageError
from opsctl.processes import pid_alive
from opsctl.runbook.secrets import Masker

RUNS_DIR = Path(".opsctl") / "runs"
DONE = ("succeeded", "skipped")


def now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")


def actor() -> dict[str, Any]:
    """Who runs this: OS user, host and process (the process tells a crash from a live run)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return {"user": user, "host": socket.gethostname(), "pid": os.getpid()}


def new_run_id(runbook: str) -> str:
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%S")
    return f"{stamp}-{runbook}-{os.urandom(3).hex()}"


class RunRecorder:
    """Appends masked events to one run's file; each event is on disk before ``write`` returns."""

    def __init__(self, path: Path, masker: Masker) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.masker = masker
        created = not path.exists()
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        if created:  # the new file's directory entry must survive a crash too
            folder = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(folder)
            finally:
                os.close(folder)
        size = os.fstat(self._fd).st_size
        if size and not _ends_with_newline(path):
            os.write(self._fd, b"\n")  # a torn last line stays on its own line, unread

    def write(self, event: str, **fields: Any) -> None:
        # to JSON types first, so values written through str() (dates, objects) are masked too
        plain = json.loads(json.dumps(fields, default=str))
        record = {"event": event, "at": now(), **self.masker.data(plain)}
        line = json.dumps(record, ensure_ascii=False) + "\n"
        os.write(self._fd, line.encode("utf-8"))
        os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"


@dataclass
class StepState:
    status: str = "pending"
    attempts: int = 0
    started: bool = False
    mutating: bool = False
    outputs: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    continued: bool = False

    @property
    def done(self) -> bool:
        return self.status in DONE or self.continued


@dataclass
class RunState:
    """A run as its record tells it."""

    path: Path
    events: list[dict[str, Any]]
    unreadable: int
    start: dict[str, Any]
    steps: dict[str, StepState]
    finished: dict[str, Any] | None
    # the record's lines as read (by :func:`masked_run`: masked again), for ``log --json``
    text: str = field(default="", repr=False)

    @property
    def run_id(self) -> str:
        return str(self.start.get("run_id", self.path.stem))

    @property
    def status(self) -> str:
        if self.finished is not None and self.events[-1].get("event") == "run_finished":
            return str(self.finished.get("status", "unknown"))
        owner = self.last_actor
        if owner.get("host") != socket.gethostname():
            return "unfinished"  # started on another machine: its process cannot be checked
        return "running" if pid_alive(owner.get("pid")) else "crashed"

    @property
    def last_actor(self) -> dict[str, Any]:
        for event in reversed(self.events):
            if event.get("event") in ("run_started", "run_resumed"):
                return dict(event.get("actor") or {})
        return {}


def read_run(path: Path) -> RunState:
    return _fold(path, path.read_text(encoding="utf-8", errors="replace"))


def masked_run(run: RunState, masker: Masker) -> RunState:
    """``run`` read again through ``masker``: events, torn lines and the raw text."""
    lines = []
    for line in run.text.splitlines(keepends=True):
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            lines.append(masker.text(line))
            continue
        end = "\n" if line.endswith("\n") else ""
        lines.append(json.dumps(masker.data(event), ensure_ascii=False) + end)
    return _fold(run.path, "".join(lines))


def _fold(path: Path, text: str) -> RunState:
    events: list[dict[str, Any]] = []
    unreadable = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            unreadable += 1
            continue
        if isinstance(event, dict):
            events.append(event)
        else:
            unreadable += 1
    start = next((e for e in events if e.get("event") == "run_started"), {})
    steps: dict[str, StepState] = {}
    finished: dict[str, Any] | None = None
    for event in events:
        kind = event.get("event")
        step_id = str(event.get("step", ""))
        if kind == "step_started":
            state = steps.setdefault(step_id, StepState())
            state.status, state.started = "started", True
            state.attempts = max(state.attempts, int(event.get("attempt", 1)))
            state.mutating = bool(event.get("mutating"))
        elif kind == "step_finished":
            state = steps.setdefault(step_id, StepState())
            state.status = str(event.get("status"))
            state.outputs = dict(event.get("outputs") or {})
            state.error = event.get("error")
            state.continued = bool(event.get("continued"))
        elif kind == "run_finished":
            finished = event
    return RunState(path, events, unreadable, start, steps, finished, text)


def runs_dir(root: Path) -> Path:
    return root / RUNS_DIR


def list_runs(root: Path) -> list[RunState]:
    folder = runs_dir(root)
    if not folder.is_dir():
        return []
    runs = [read_run(path) for path in folder.glob("*.jsonl")]
    return sorted(runs, key=lambda run: str(run.start.get("at", "")), reverse=True)


def find_run(root: Path, run_id: str) -> Path:
    """The record of ``run_id`` (a unique prefix is enough)."""
    folder = runs_dir(root)
    exact = folder / f"{run_id}.jsonl"
    if exact.is_file():
        return exact
    matches = sorted(folder.glob(f"{run_id}*.jsonl")) if folder.is_dir() and run_id else []
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise UsageError(f"run id {run_id!r} is ambiguous ({len(matches)} runs match)")
    raise UsageError(
        f"no run {run_id!r} in {RUNS_DIR}/", hint="`opsctl runbook history` lists the runs"
    )
