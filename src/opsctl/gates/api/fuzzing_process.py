"""Run the schemathesis CLI in its own process group, bounded by a wall clock.

schemathesis runs in a subprocess so that its Hypothesis state, its pytest plugin and its
imports stay out of opsctl's process. At the deadline the whole group gets SIGINT first:
schemathesis then stops like on Ctrl-C and still writes its reports (what it found so far);
a group that does not stop within the grace period is killed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

#: A child started from a shell's background job inherits SIGINT ignored, and Python then
#: installs no KeyboardInterrupt handler: restore it, or the deadline's SIGINT does nothing.
_LAUNCH = (
    "import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "runpy.run_module('schemathesis.cli', run_name='__main__')"
)
#: How long schemathesis may take to write its reports after the deadline's SIGINT.
GRACE_S = 5.0


@dataclass(frozen=True)
class Finished:
    """How the schemathesis process ended."""

    returncode: int | None  # None: killed after the grace period
    out_of_time: bool  # the deadline came before it finished on its own
    seconds: float
    output: str  # its console output (the last 4,000 characters)


def command(arguments: list[str]) -> list[str]:
    """The command line that runs ``st <arguments>`` with this interpreter."""
    return [sys.executable, "-c", _LAUNCH, *arguments]


def run(arguments: list[str], directory: Path, max_time: float) -> Finished:
    """Run ``st <arguments>`` in ``directory`` (its reports land there) for at most ``max_time``."""
    console = directory / "console.txt"
    # The run is what the Definition of Done says: no hooks or settings from the environment.
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SCHEMATHESIS_")}
    environment["NO_COLOR"] = "1"
    started = time.monotonic()
    with console.open("w", encoding="utf-8") as sink:
        process = subprocess.Popen(
            command(arguments),
            cwd=directory,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=environment,
            start_new_session=True,
        )
        out_of_time = False
        try:
            returncode: int | None = process.wait(timeout=max_time)
        except subprocess.TimeoutExpired:
            out_of_time = True
            returncode = _stop(process)
    seconds = time.monotonic() - started
    text = console.read_text(encoding="utf-8", errors="replace")
    return Finished(returncode, out_of_time, seconds, text[-4000:])


def _stop(process: subprocess.Popen[bytes]) -> int | None:
    """SIGINT the group, then SIGKILL it after the grace period (None: it had to be killed)."""
    _signal_group(process.pid, signal.SIGINT)
    try:
        return process.wait(timeout=GRACE_S)
    except subprocess.TimeoutExpired:
        _signal_group(process.pid, signal.SIGKILL)
        process.wait()
        return None


def _signal_group(pid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # the group is gone already
        os.killpg(pid, signum)  # the child leads its own session: its group id is its pid
