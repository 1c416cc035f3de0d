"""Both locks a real run holds: the lock file of this checkout and, when the environment has
a shared database, the advisory lock in that database (which other machines see too)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opsctl.config.models import LoadedProject
from opsctl.errors import DatabaseError
from opsctl.runbook.db_lock import DEAD_HOLDER_WAIT, DatabaseLock
from opsctl.runbook.lock import RunLock
from opsctl.runbook.preparation import Prepared


@dataclass
class HeldLocks:
    local: RunLock
    database: DatabaseLock | None
    # for the record: "taken", "not taken: <why>", or None (no shared database)
    database_status: str | None

    @property
    def took_over(self) -> dict[str, Any] | None:
        return self.local.took_over

    def release(self) -> None:
        if self.database is not None:
            self.database.release()
        self.local.release()


def take_locks(
    project: LoadedProject, prep: Prepared, env_name: str, run_id: str, who: dict[str, Any]
) -> HeldLocks:
    """Take the local lock, then the database lock; refused runs hold neither.

    A database that cannot be reached does not stop the run (a runbook may be the way to
    repair it): the run goes on under the local lock, says so, and the record tells.
    """
    name = prep.loaded.runbook.name
    local = RunLock(project.root, name, env_name)
    local.acquire(run_id, who)
    if not prep.shared_database:
        return HeldLocks(local, None, None)
    try:
        database = DatabaseLock(
            prep.database_url(),
            service=project.config.service.name,
            runbook=name,
            env=env_name,
        )
        # a dead process of this host held the lock file: its session may still be ending
        database.acquire(run_id, who, wait=DEAD_HOLDER_WAIT if local.took_over else 0.0)
    except DatabaseError as error:
        local_only = f"not taken: {error.message}"
        prep.display.say(
            f"warning: the database lock was {local_only}; only this checkout's lock"
            " protects this run from a concurrent one",
            style="yellow",
        )
        return HeldLocks(local, None, local_only)
    except BaseException:
        local.release()
        raise
    return HeldLocks(local, database, "taken")
