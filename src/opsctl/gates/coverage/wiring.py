"""Give the service's tests opsctl's throwaway database, and make sure they used it.

A service reads its database however it likes (``DATABASE_URL``, ``POSTGRES_*`` parts, a
pydantic-settings class with an ``env_file``), so the tests get their environment from
``service.database_env`` (:mod:`opsctl.config.service_wiring`). Two checks keep the promise that
the gate never runs on a data database:

- before the run, a database setting that the wiring does not set, found in the environment the
  tests inherit or in a ``.env`` file beside the service, stops the gate: the tests could reach
  the database it names (``incomplete``, naming the variable and the file);
- after the run, the server's own statistics must show sessions on the throwaway database:
  tests that never connected to it read their database from elsewhere (``incomplete``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass

from opsctl.config.service_wiring import (
    DATABASE_SETTING,
    dotenv_files,
    dotenv_keys,
    overridden_dotenv_keys,
    unwired_in,
)
from opsctl.database.usage import database_activity
from opsctl.gates.interface import GateContext, GateError, GateResult

# The server counts a session when its backend reports statistics, at the latest when it exits,
# which may be a moment after the test process closed the connection.
_SETTLE_S = 0.5
_SETTLE_TRIES = 6


def test_environment(context: GateContext, database_url: str | None) -> dict[str, str]:
    """The tests' environment: opsctl's, ``service.env``, then the database variables."""
    from opsctl.serving.service import project_environment

    redis = context.environment.redis_url
    return project_environment(
        context.project,
        environment={},
        database_url=database_url,
        redis_url=redis.get_secret_value() if redis is not None else None,
        extra={},
    )


def unwired_settings(wired: set[str], dotenv: Mapping[str, list[str]]) -> list[str]:
    """Database settings in ``.env`` files that opsctl's wiring does not set, per file."""
    found = []
    for path, keys in dotenv.items():
        names = [key for key in keys if DATABASE_SETTING.match(key) and key not in wired]
        if names:
            found.append(f"{', '.join(names)} (in {path})")
    return found


@dataclass
class DatabaseWiring:
    """The throwaway database given to the tests, and its session count before they ran."""

    database_url: str | None
    sessions_before: int = 0

    @classmethod
    def check(
        cls,
        context: GateContext,
        environment: dict[str, str],
        database_url: str | None,
        result: GateResult,
    ) -> DatabaseWiring:
        """Refuse a run that could reach another database; note the sessions so far.

        Settings found only in the environment opsctl itself runs in are removed from the
        tests' environment (they point at the caller's database, never at opsctl's); those in
        a ``.env`` file the service reads stop the gate, since opsctl cannot unset them.
        """
        if database_url is None:
            return cls(None)
        from opsctl.config.service_wiring import DEFAULT_DATABASE_ENV

        service = context.project.config.service
        wired = set(service.database_env or DEFAULT_DATABASE_ENV) | set(service.env)
        # service_environment() left these out of every process of the service: say so
        removed = unwired_in(os.environ, wired)
        if removed:
            result.details["environment_removed"] = removed
        root = context.project.root
        dotenv = {str(path): dotenv_keys(path) for path in dotenv_files(root)}
        unwired = unwired_settings(wired, dotenv)
        if unwired:
            raise GateError(
                "the tests were not run: the service could read its database from "
                + ", ".join(unwired)
                + ", which opsctl's wiring does not set: name them in service.database_env in "
                "opsctl.yaml (e.g. POSTGRES_SERVER: '{host}'; `opsctl init` finds them) so the "
                "tests get the throwaway database (docs/configuration.md)"
            )
        overridden = overridden_dotenv_keys(root, environment)
        if overridden:
            result.details["dotenv_overridden"] = overridden
        result.details["database"] = "throwaway database"
        result.details["database_env"] = sorted(service.database_env or DEFAULT_DATABASE_ENV)
        return cls(database_url, database_activity(database_url))

    def recounted(self) -> DatabaseWiring:
        """The same database, its sessions counted again (after opsctl's own setup used it)."""
        if self.database_url is None:
            return self
        return DatabaseWiring(self.database_url, database_activity(self.database_url))

    def confirm(self, result: GateResult, *, tests_passed: bool) -> None:
        """Make the result incomplete if no test connected to the throwaway database.

        Only judged when some test passed: a test command that collected or passed nothing
        has its own, truer, reason.
        """
        if self.database_url is None:
            return
        sessions = 0
        for reading in range(1, _SETTLE_TRIES + 1):
            # minus the sessions of the readings themselves, this one's included
            sessions = database_activity(self.database_url) - self.sessions_before - reading
            if sessions > 0 or not tests_passed:
                break
            time.sleep(_SETTLE_S)
        result.details["database_sessions"] = max(sessions, 0)
        if sessions <= 0 and tests_passed:
            result.reasons.append(
                "no test connected to the throwaway database opsctl gave them: the tests use "
                "another database (one they name themselves, SQLite, a settings default or a "
                ".env value); if the service reads PostgreSQL settings from variables, name "
                "them in service.database_env in opsctl.yaml (docs/configuration.md)"
            )
