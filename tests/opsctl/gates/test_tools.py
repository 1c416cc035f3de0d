"""Running a wrapped tool: stopping it (timeout, cancel) stops everything it started."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from opsctl.gates.tools import ToolStoppedError, run_tool
from opsctl.processes import pid_alive

# the tool goes on SIGTERM, but a child it started ignores SIGTERM (and keeps the pipes open)
_TOOL_WITH_STUBBORN_CHILD = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c",
    "import os, signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
    "p = sys.argv[1]; open(p + '.tmp', 'w').write(str(os.getpid())); os.replace(p + '.tmp', p);"
    "time.sleep(30)", sys.argv[1]])
time.sleep(30)
"""


def wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("how", ["timed out after 3 s", "cancelled"])
def test_a_stopped_tool_leaves_no_process_behind(tmp_path: Path, how: str) -> None:
    pid_file = tmp_path / "child.pid"
    command = [sys.executable, "-c", _TOOL_WITH_STUBBORN_CHILD, str(pid_file)]
    cancelled = threading.Event()
    if how == "cancelled":  # as --fail-fast and Ctrl-C do

        def cancel_once_the_child_runs() -> None:
            if wait_for(pid_file.exists, 20):
                cancelled.set()

        threading.Thread(target=cancel_once_the_child_runs, daemon=True).start()
    started = time.monotonic()
    with pytest.raises(ToolStoppedError, match=f"^stubborn {how}$"):
        run_tool(command, cwd=tmp_path, timeout_s=3, cancelled=cancelled, name="stubborn")
    child = int(pid_file.read_text())
    assert wait_for(lambda: not pid_alive(child), 2), f"child {child} outlived '{how}'"
    assert time.monotonic() - started < 10


def test_ctrl_c_while_a_tool_runs_stops_its_whole_group(tmp_path: Path) -> None:
    # the tool runs in its own session: the terminal's SIGINT reaches only opsctl
    import _thread

    pid_file = tmp_path / "child.pid"
    command = [sys.executable, "-c", _TOOL_WITH_STUBBORN_CHILD, str(pid_file)]

    def press_ctrl_c_once_the_child_runs() -> None:
        if wait_for(pid_file.exists, 20):
            _thread.interrupt_main()

    threading.Thread(target=press_ctrl_c_once_the_child_runs, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        run_tool(command, cwd=tmp_path, timeout_s=60, cancelled=threading.Event())
    child = int(pid_file.read_text())
    assert wait_for(lambda: not pid_alive(child), 5), f"child {child} outlived Ctrl-C"


def test_a_finished_tool_returns_its_output(tmp_path: Path) -> None:
    run = run_tool(
        [sys.executable, "-c", "import sys; print('out'); print('err', file=sys.stderr)"],
        cwd=tmp_path,
        timeout_s=30,
        cancelled=threading.Event(),
    )
    assert (run.returncode, run.stdout, run.stderr) == (0, "out\n", "err\n")
