"""One run per runbook and environment: a lock file that says who holds it.

``<repo>/.opsctl/locks/<runbook>@<env>.lock`` is created exclusively (``O_EXCL``) and holds the
owner (user, host, pid, run id, since). A lock whose owner process is gone on this host is
stale and taken over; a lock held from another host is never broken automatically.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from pathlib import Path
from typing import Any

from opsctl.errors import RefusedError
from opsctl.processes import pid_alive
from opsctl.runbook.records import now

LOCKS_DIR = Path(".opsctl") / "locks"
_TORN_LOCK_SECONDS = 10.0


class RunLock:
    def __init__(self, root: Path, runbook: str, env: str) -> None:
        self.path = root / LOCKS_DIR / f"{runbook}@{env}.lock"
        self.runbook, self.env = runbook, env
        self.run_id: str | None = None
        self.took_over: dict[str, Any] | None = None

    def holder(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def acquire(self, run_id: str, owner: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        content = json.dumps({**owner, "run_id": run_id, "since": now()}).encode()
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                holder = self.holder()
                if holder is None:
                    continue  # released meanwhile
                if self._stale(holder):
                    if self._remove_stale(holder):
                        self.took_over = holder
                    continue
                raise RefusedError(
                    f"runbook {self.runbook} on {self.env} is already running: {describe(holder)}",
                    hint=f"wait for that run to finish (lock file {self.path})",
                ) from None
            try:
                os.write(fd, content)
                os.fsync(fd)
            finally:
                os.close(fd)
            self.run_id = run_id
            return
        raise RefusedError(f"could not take the lock {self.path}")

    def _remove_stale(self, holder: dict[str, Any]) -> bool:
        """Move the stale lock aside atomically; put it back if it was not the stale one.

        Two runs may find the same stale lock: the first one removes it and takes a new lock;
        the second must not delete that new lock, so it renames (atomic), checks what it moved,
        and restores a lock that turns out to be live.
        """
        aside = self.path.with_name(f"{self.path.name}.stale-{os.getpid()}")
        try:
            self.path.rename(aside)
        except FileNotFoundError:
            return False
        try:
            moved = json.loads(aside.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            moved = {}
        if moved != holder:
            with contextlib.suppress(FileExistsError):
                os.link(aside, self.path)  # a live lock: restore it unless replaced meanwhile
            aside.unlink()
            return False
        aside.unlink()
        return True

    def _stale(self, holder: dict[str, Any]) -> bool:
        if not holder:  # torn write: stale once old enough
            try:
                return time.time() - self.path.stat().st_mtime > _TORN_LOCK_SECONDS
            except FileNotFoundError:
                return True
        if holder.get("host") != socket.gethostname():
            return False
        pid = holder.get("pid")
        return isinstance(pid, int) and not pid_alive(pid)

    def release(self) -> None:
        """Remove the lock if this run still holds it."""
        if self.run_id is None:
            return
        holder = self.holder()
        if holder is not None and holder.get("run_id") == self.run_id:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
        self.run_id = None


def describe(holder: dict[str, Any]) -> str:
    if not holder:
        return "unknown owner (unreadable lock file)"
    return (
        f"held by {holder.get('user')}@{holder.get('host')} (pid {holder.get('pid')}, "
        f"run {holder.get('run_id')}, since {holder.get('since')})"
    )
