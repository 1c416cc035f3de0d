"""The shared process helpers: a whole group is stopped, dead and odd pids are not alive."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from opsctl.processes import pid_alive, stop_group

# a leader that ignores SIGTERM and a child of it that ignores SIGTERM too
_STUBBORN = """
import os, signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"])
print(child.pid, flush=True)
time.sleep(60)
"""


def test_stop_group_kills_a_stubborn_leader_and_its_children() -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", _STUBBORN], stdout=subprocess.PIPE, start_new_session=True
    )
    assert process.stdout is not None
    child = int(process.stdout.readline())
    assert pid_alive(child)
    started = time.monotonic()
    stop_group(process, grace=0.3)
    assert process.returncode is not None  # the leader was reaped
    deadline = time.monotonic() + 5
    while pid_alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_alive(child)  # SIGKILL reached the whole group
    assert time.monotonic() - started < 5
    process.stdout.close()


def test_pid_alive() -> None:
    assert pid_alive(os.getpid())
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while pid_alive(done.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_alive(done.pid)
    done.wait()
    assert not pid_alive(done.pid)
    for odd in (None, "123", True, 0, -1):
        assert not pid_alive(odd)
