"""Run a wrapped tool (pytest, bandit, pip-audit) as a subprocess that a gate can stop.

Gates run in worker threads; the runner asks them to stop through ``GateContext.cancelled``
(``--fail-fast``, Ctrl-C). A tool is started in its own process group so that stopping it also
stops whatever it started (pytest's subprocesses, pip's resolver).
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from opsctl.gates.interface import GateError
from opsctl.processes import stop_group

_POLL_S = 0.05


def tool_versions(*distributions: str) -> dict[str, str]:
    """``{distribution: version}`` for a result's ``tools`` ("not installed" if absent)."""
    versions: dict[str, str] = {}
    for name in distributions:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


@dataclass(frozen=True)
class ToolRun:
    """What a finished tool left behind."""

    returncode: int
    stdout: str
    stderr: str
    duration_s: float


class ToolStoppedError(GateError):
    """The tool was stopped before it finished: timed out or cancelled."""


def run_tool(
    command: Sequence[str],
    *,
    cwd: Path,
    timeout_s: float,
    cancelled: threading.Event,
    env: Mapping[str, str] | None = None,
    name: str | None = None,
) -> ToolRun:
    """Run ``command`` to the end, or raise :class:`ToolStoppedError` / :class:`GateError`."""
    label = name or Path(command[0]).name
    started = time.monotonic()
    try:
        process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
            errors="replace",
            start_new_session=True,
        )
    except OSError as error:
        raise GateError(f"cannot start {label}: {error.strerror or error}") from None
    # communicate() in a thread keeps the pipes drained while we watch for cancel/timeout.
    outputs: dict[str, str] = {}

    def drain() -> None:
        outputs["stdout"], outputs["stderr"] = process.communicate()

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        while reader.is_alive():
            reader.join(_POLL_S)
            elapsed = time.monotonic() - started
            if cancelled.is_set() or elapsed > timeout_s:
                # the whole group, SIGKILL after the grace: a child that ignores SIGTERM must
                # not outlive a tool reported as stopped
                stop_group(process)
                reader.join(5)
                why = "cancelled" if cancelled.is_set() else f"timed out after {timeout_s:g} s"
                raise ToolStoppedError(f"{label} {why}")
    except BaseException:
        # Ctrl-C in this thread: the tool runs in its own session, so the terminal's SIGINT
        # never reached it; it must not go on running on a database about to be dropped
        stop_group(process)
        raise
    return ToolRun(
        returncode=process.returncode,
        stdout=outputs.get("stdout", ""),
        stderr=outputs.get("stderr", ""),
        duration_s=time.monotonic() - started,
    )
