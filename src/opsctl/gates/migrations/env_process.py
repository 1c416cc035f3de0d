"""Run a service's Alembic ``env.py`` as it is, in a child process wired like the service.

:class:`MigrationRunner` starts :mod:`opsctl.gates.migrations.worker` for one database, with
the environment :func:`opsctl.config.service_wiring.service_environment` builds (so an
``env.py`` that reads ``DATABASE_URL``, or assembles its URL from ``POSTGRES_*`` parts through
pydantic-settings, gets opsctl's database), ``PGOPTIONS`` carrying the walk's session timeouts
(libpq applies them to every connection of the process, whoever builds the engine), and
``alembic.ini``'s folder as the working directory. The service's logging and output are kept
(the last lines, for a crash) and never reach opsctl's output.

A step that fails raises :class:`StepError`, naming the project file and line where it failed
(``env.py`` or the revision). A step that does not answer after the walk was stopped (Python
code that blocks without SQL) is killed after a grace period.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from opsctl.config.service_wiring import service_environment
from opsctl.database.urls import to_sqlalchemy
from opsctl.gates.migrations.bounds import WalkStoppedError
from opsctl.gates.migrations.history import shown_path
from opsctl.output.masking import mask_text

_STARTUP_S = 120.0  # importing the service's settings and models may be slow on a busy box
_GRACE_S = 3.0  # after the walk is stopped, how long a step may take to notice
_POLL_S = 0.2
_KEPT_LINES = 200


@dataclass(frozen=True)
class Statement:
    """One SQL statement a step executed, and where in the project it came from."""

    sql: str
    file: str  # repository-relative path of the revision (or env.py)
    line: int
    env: bool  # issued by env.py itself (a SET before the revisions run), not by a revision
    autocommit: bool  # ran outside a transaction (op.get_context().autocommit_block())
    parameters: bool  # had bound parameters (placeholders in ``sql``)


class StepError(Exception):
    """A step failed in the service's code; ``str()`` is the error's own first line."""

    def __init__(self, error: Mapping[str, Any], root: Path) -> None:
        self.kind = str(error.get("type") or "Error")
        self.message = mask_text(str(error.get("message") or ""))
        self.sqlstate: str | None = error.get("sqlstate")
        file = error.get("file")
        self.file = shown_path(Path(file), root) if file else None
        self.line: int | None = error.get("line")
        self.statements: list[Statement] = []  # what the step executed before it failed
        super().__init__(self.first_line)

    @property
    def first_line(self) -> str:
        lines = self.message.splitlines()
        return lines[0] if lines else ""

    @property
    def kind_and_line(self) -> str:
        return f"{self.kind}: {self.first_line}" if self.first_line else self.kind

    @property
    def described(self) -> str:
        """``AssertionError: ... (migrations/env.py:14)``: what failed, and where."""
        where = f" ({self.file}:{self.line})" if self.file and self.line else ""
        text = f": {self.first_line}" if self.first_line else ""
        return f"{self.kind}{text}{where}"


def worker_environment(
    database_env: Mapping[str, str] | None,
    service_env: Mapping[str, str],
    database_url: str,
    session_options: str | None,
) -> dict[str, str]:
    """The environment of the worker: the service's wiring to ``database_url``, timeouts."""
    environment = service_environment(
        base=os.environ,
        database_env=database_env,
        extra=service_env,
        database_url=database_url,
    )
    if session_options:
        existing = environment.get("PGOPTIONS", "")  # service.env's, else the caller's
        environment["PGOPTIONS"] = f"{existing} {session_options}".strip()
    return environment


class MigrationRunner:
    """A worker process running ``env.py`` for one database; one method per Alembic step."""

    def __init__(
        self,
        *,
        ini: Path,
        script_location: str,
        root: Path,
        sys_paths: list[Path],
        database_url: str,
        environment: Mapping[str, str],
        stopped: Callable[[], str | None] = lambda: None,
    ) -> None:
        self.root = root.resolve()
        self.stopped = stopped
        self.output: collections.deque[str] = collections.deque(maxlen=_KEPT_LINES)
        options = {
            "ini": str(ini),
            "script_location": script_location,
            "root": str(self.root),
            "url": to_sqlalchemy(database_url),
            "sqlalchemy.url": to_sqlalchemy(database_url),
            "sys_path": [str(path) for path in (*sys_paths, root / "src", root)],
        }
        read_end, write_end = os.pipe()
        try:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "opsctl.gates.migrations.worker",
                    str(write_end),
                    json.dumps(options),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                cwd=ini.parent,
                env=dict(environment),
                pass_fds=(write_end,),
                text=True,
            )
        finally:
            os.close(write_end)
        self._answers = os.fdopen(read_end, "r", encoding="utf-8")
        self._drain = threading.Thread(
            target=self._keep_output, args=(self.process.stdout,), daemon=True
        )
        self._drain.start()

    def _keep_output(self, stream: IO[str] | None) -> None:
        if stream is None:  # pragma: no cover - always a pipe
            return
        for line in stream:
            self.output.append(line.rstrip("\n"))

    def __enter__(self) -> MigrationRunner:
        try:
            self._answer(_STARTUP_S)  # connected, scripts read
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self.process.stdin is not None and not self.process.stdin.closed:
            with contextlib.suppress(OSError):  # already gone
                self.process.stdin.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._answers.close()
        self._drain.join(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()

    def _answer(self, timeout: float | None = None) -> list[Statement]:
        started = time.monotonic()
        stopped_at: float | None = None
        while True:
            ready, _, _ = select.select([self._answers], [], [], _POLL_S)
            if ready:
                line = self._answers.readline()
                if not line:
                    raise self._died()
                answer = json.loads(line)
                break
            reason = self.stopped()
            now = time.monotonic()
            if reason is not None:
                stopped_at = stopped_at or now
                if now - stopped_at > _GRACE_S:  # Python code that blocks without SQL
                    self.process.kill()
                    raise WalkStoppedError(reason)
            if timeout is not None and now - started > timeout:
                self.process.kill()
                raise StepError(
                    {"type": "TimeoutError", "message": f"env.py did not start in {timeout:g}s"},
                    self.root,
                )
        statements = [self._statement(item) for item in answer.get("statements", [])]
        if not answer.get("ok"):
            error = StepError(answer.get("error") or {}, self.root)
            error.statements = statements
            raise error
        return statements

    def _statement(self, item: Mapping[str, Any]) -> Statement:
        return Statement(
            sql=str(item["sql"]),
            file=shown_path(Path(item["file"]), self.root),
            line=int(item["line"]),
            env=bool(item["env"]),
            autocommit=bool(item["autocommit"]),
            parameters=bool(item["parameters"]),
        )

    def _died(self) -> StepError:
        code = self.process.wait()
        self._drain.join(timeout=5)
        last = [line for line in self.output if line.strip()][-1:] or ["(no output)"]
        return StepError(
            {
                "type": "ProcessExited",
                "message": f"the migration process exited with code {code}: {last[0]}",
            },
            self.root,
        )

    def _call(self, command: str, revision: str | None = None) -> list[Statement]:
        if self.process.stdin is None:  # pragma: no cover - always a pipe
            raise RuntimeError("no pipe to the worker")
        try:
            self.process.stdin.write(json.dumps({"command": command, "revision": revision}) + "\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._died() from None
        return self._answer()

    def prepare(self) -> list[Statement]:
        """Run ``env.py`` with no revision: it creates the empty version table."""
        return self._call("prepare")

    def upgrade(self, destination: str) -> list[Statement]:
        return self._call("upgrade", destination)

    def downgrade_one(self, revision: str) -> list[Statement]:
        """Run exactly ``revision``'s downgrade, leaving other branches where they are.

        (``alembic downgrade <parent>`` would also undo a sibling branch, or do nothing when
        the parent is another branch's head.)
        """
        return self._call("downgrade_one", revision)
