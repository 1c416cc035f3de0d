"""``shell``: a command as an argument list, in its own process group.

Parameters reach the command only as environment variables (``shell.env``), never spliced into
its text. On timeout or Ctrl-C the whole process group gets SIGTERM, then SIGKILL after a grace
period, so nothing the command started keeps running.
"""

from __future__ import annotations

import os
import subprocess  # nosec B404 - commands are argument lists, never a shell string
import sys
from typing import Any

from opsctl.processes import stop_group
from opsctl.runbook.model import ShellSpec
from opsctl.runbook.steps.interface import (
    StepContext,
    StepError,
    StepResult,
    StepTimeoutError,
    StepType,
)

MAX_OUTPUT = 20_000


def argv(spec: ShellSpec) -> list[str]:
    """The command; a first argument ``python`` means the Python running opsctl."""
    command = list(spec.command)
    if command[0] == "python":
        command[0] = sys.executable
    return command


class ShellStep(StepType):
    kind = "shell"
    default_timeout = 60.0

    def describe(self, spec: ShellSpec) -> str:
        env = f" env={sorted(spec.env)}" if spec.env else ""
        cwd = f" cwd={spec.cwd}" if spec.cwd else ""
        return f"run {spec.command!r}{env}{cwd}"

    def run(self, spec: ShellSpec, context: StepContext) -> StepResult:
        cwd = context.root / spec.cwd if spec.cwd else context.root
        try:
            process = subprocess.Popen(  # nosec B603 - argv from the reviewed runbook file
                argv(spec),
                cwd=cwd,
                env={**os.environ, **spec.env},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as error:
            raise StepError(f"cannot start {spec.command[0]}: {error.strerror}") from None
        try:
            out, err = process.communicate(timeout=context.timeout)
        except subprocess.TimeoutExpired:
            stop_group(process)
            process.communicate()
            raise StepTimeoutError(
                f"killed the command's process group after {context.timeout:g}s"
            ) from None
        except BaseException:  # Ctrl-C: stop the work before the executor records it
            stop_group(process)
            raise
        stdout = out.decode("utf-8", "replace")[-MAX_OUTPUT:]
        stderr = err.decode("utf-8", "replace")[-MAX_OUTPUT:]
        value: dict[str, Any] = {
            "exit_code": process.returncode,
            "stdout": stdout,
            "stderr": stderr,
        }
        summary = f"exit {process.returncode}"
        if process.returncode not in spec.expect_exit:
            tail = stderr.strip().splitlines()[-3:] or stdout.strip().splitlines()[-3:]
            raise StepError(f"{summary}: {' | '.join(tail)}", result=value)
        return StepResult(value=value, summary=summary)
