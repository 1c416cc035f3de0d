"""Child processes and process ids: stop a whole process group, tell whether a pid lives.

Shared by everything that starts or watches processes (runbook ``shell`` steps, run records
and locks; the gates' tools and the embedded database can use the same code).
"""

from __future__ import annotations

import os
import signal
import subprocess  # nosec B404 - only waits for and signals processes started elsewhere
from pathlib import Path
from typing import IO, Any

GRACE_SECONDS = 2.0
KILL_WAIT_SECONDS = 5.0


def stop_group(
    process: subprocess.Popen[Any],
    *,
    grace: float = GRACE_SECONDS,
    kill_wait: float = KILL_WAIT_SECONDS,
) -> None:
    """SIGTERM the process group led by ``process``; SIGKILL it if it is not gone in ``grace``.

    ``process`` must have been started with ``start_new_session=True`` (it leads its own
    group). Once the leader has ended, the rest of its group is killed too: a child that
    ignored SIGTERM must not outlive the command that started it.
    """
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, kill_wait)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            # the leader is gone; make sure no member of its group survives it
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue
        return


def pid_alive(pid: object) -> bool:
    """Whether a process with this id runs on this host (a zombie counts as gone).

    Anything but an ``int`` (a pid read from a file or a record) is "not alive". A process
    owned by another user (``PermissionError``) is alive.
    """
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # Linux: a zombie has ended, only its exit status is left to collect
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[:1]
    except OSError:
        return True  # no /proc (macOS) or it vanished meanwhile: trust kill(0)
    return state != ["Z"]


def output_tail(log: IO[bytes], limit: int = 800) -> str:
    """The last ``limit`` characters a child wrote to ``log`` (a file), secrets masked."""
    from opsctl.output.masking import mask_text

    log.seek(0)
    text = log.read().decode("utf-8", "replace").strip()
    return mask_text(text[-limit:]) if text else "(no output)"
