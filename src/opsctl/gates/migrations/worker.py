"""The process that runs a service's Alembic ``env.py``, unchanged, for opsctl.

``env.py`` is the service's code: it may call ``logging.config.fileConfig`` (which would take
over opsctl's logging), ``assert config.config_file_name is not None``, build its own engine
from its settings (``POSTGRES_SERVER``/... read by pydantic-settings when it is imported), or
print. So it runs here, in a child process started by
:class:`opsctl.gates.migrations.alembic_env.MigrationRunner` with the service's environment
(``opsctl.config.service_wiring``), with ``alembic.ini`` as its ``config_file_name`` and its
folder as the working directory, as ``alembic upgrade`` would run it. Its logging and output go
to this process's stderr, which opsctl keeps out of its own output.

One worker serves one database. Requests are JSON lines on stdin; answers are JSON lines on
the file descriptor given as the first argument (stdout is redirected to stderr, so whatever
the service prints cannot break the protocol). Every answer carries the SQL the step executed,
statement by statement, each with the revision file and line that issued it (found on the
stack at execute time) and whether it ran outside a transaction: the safety lint reads that.

Run as ``python -m opsctl.gates.migrations.worker <fd> <json options>``.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

# Statements env.py itself runs are kept only when they set session options (lock_timeout,
# statement_timeout, ...): those apply to every revision's SQL. Its other statements are
# Alembic's bookkeeping and reflection.
_ENV_KEPT_PREFIX = "set "


class _Recorder:
    """Collects the SQL executed while a step runs, with where in the project it came from."""

    def __init__(self, revision_files: set[str], env_file: str) -> None:
        self.revision_files = revision_files
        self.env_file = env_file
        self.statements: list[dict[str, Any]] = []

    def origin(self) -> tuple[str, int] | None:
        """The innermost revision (or env.py) frame on the stack: file and line."""
        frame: FrameType | None = sys._getframe(2)
        env_line: tuple[str, int] | None = None
        while frame is not None:
            filename = frame.f_code.co_filename
            if filename in self.revision_files:
                return filename, frame.f_lineno
            if env_line is None and filename == self.env_file:
                env_line = (filename, frame.f_lineno)
            frame = frame.f_back
        return env_line

    def before_execute(
        self,
        conn: Any,
        _cursor: Any,
        statement: str,
        parameters: Any,
        _context: Any,
        executemany: bool,
    ) -> None:
        where = self.origin()
        if where is None:
            return
        filename, line = where
        in_revision = filename in self.revision_files
        if not in_revision and not statement.lstrip().lower().startswith(_ENV_KEPT_PREFIX):
            return
        driver = getattr(conn.connection, "dbapi_connection", None)
        self.statements.append(
            {
                "sql": statement,
                "parameters": bool(parameters),
                "file": filename,
                "line": line,
                "env": not in_revision,
                "autocommit": bool(getattr(driver, "autocommit", False)),
            }
        )


def _location(error: BaseException, root: Path) -> tuple[str | None, int | None]:
    """The innermost frame of the traceback that is the project's own code (not a library)."""
    found: tuple[str | None, int | None] = (None, None)
    site = [Path(p).resolve() for p in sys.path if "site-packages" in p]
    for frame in traceback.extract_tb(error.__traceback__):
        if not Path(frame.filename).is_absolute():  # "<string>": code Alembic generates
            continue
        path = Path(frame.filename).resolve()
        if path.is_relative_to(root) and not any(path.is_relative_to(s) for s in site):
            found = (str(path), frame.lineno)
    return found


def _describe(error: BaseException, root: Path) -> dict[str, Any]:
    original = getattr(error, "orig", None) or error
    message = str(original).strip()
    file, line = _location(error, root)
    return {
        "type": type(original).__name__,
        "message": message,
        "sqlstate": getattr(original, "sqlstate", None),
        "file": file,
        "line": line,
    }


class _Worker:
    def __init__(self, options: dict[str, Any]) -> None:
        import sqlalchemy as sa
        from alembic.config import Config
        from alembic.script import ScriptDirectory

        self.root = Path(options["root"]).resolve()
        self.url = str(options["url"])
        self.config = Config(options["ini"])  # config_file_name stays alembic.ini
        # ConfigParser interpolation: a literal '%' must be doubled
        for key in ("script_location", "sqlalchemy.url"):
            self.config.set_main_option(key, str(options[key]).replace("%", "%%"))
        self.script = ScriptDirectory.from_config(self.config)
        revision_files = {
            str(Path(rev.path).resolve())
            for rev in self.script.walk_revisions()
            if rev.path is not None
        }
        # the file names Python gives frames: as the modules were loaded (maybe not resolved)
        revision_files |= {rev.path for rev in self.script.walk_revisions() if rev.path}
        env_file = str(Path(self.script.dir) / "env.py")
        self.recorder = _Recorder(revision_files, env_file)
        sa.event.listen(sa.engine.Engine, "before_cursor_execute", self.recorder.before_execute)
        self.engine = sa.create_engine(self.url, poolclass=sa.pool.NullPool)
        self.connection = self.engine.connect()

    def run_env(self, fn: Any, **options: Any) -> None:
        from alembic.runtime.environment import EnvironmentContext

        self.config.attributes["connection"] = self.connection
        try:
            with EnvironmentContext(self.config, self.script, fn=fn, **options):
                self.script.run_env()
        finally:
            self.config.attributes.pop("connection", None)
            if self.connection.in_transaction():
                self.connection.commit()

    def handle(self, request: dict[str, Any]) -> None:
        from alembic.runtime.migration import MigrationStep

        command = request["command"]
        script = self.script
        if command == "prepare":  # the empty version table, so the base state has it
            self.run_env(lambda _rev, _context: [])
        elif command == "upgrade":
            destination = str(request["revision"])
            self.run_env(
                lambda rev, _context: script._upgrade_revs(destination, rev),
                destination_rev=destination,
            )
        elif command == "downgrade_one":
            # exactly this revision's downgrade; other branches stay where they are
            step = MigrationStep.downgrade_from_script(
                script.revision_map, script.get_revision(str(request["revision"]))
            )
            self.run_env(lambda _rev, _context: [step])
        else:
            raise ValueError(f"unknown command {command!r}")

    def serve(self, answers: TextIO) -> None:
        for line in sys.stdin:
            if not line.strip():
                continue
            request = json.loads(line)
            self.recorder.statements = []
            answer: dict[str, Any] = {"ok": True}
            try:
                self.handle(request)
            except Exception as error:  # the service's code failing is the answer
                traceback.print_exc(file=sys.stderr)
                answer = {"ok": False, "error": _describe(error, self.root)}
                try:
                    self.connection.rollback()
                except Exception:
                    traceback.print_exc(file=sys.stderr)
            answer["statements"] = self.recorder.statements
            answers.write(json.dumps(answer) + "\n")
            answers.flush()


def main() -> None:
    answers = os.fdopen(int(sys.argv[1]), "w", encoding="utf-8")
    options = json.loads(sys.argv[2])
    # Whatever the service prints (print(), a StreamHandler on stdout) goes to stderr.
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    for entry in reversed(options["sys_path"]):
        sys.path.insert(0, entry)
    try:
        worker = _Worker(options)
    except Exception as error:  # cannot even connect or read the scripts
        traceback.print_exc(file=sys.stderr)
        root = Path(options["root"]).resolve()
        answers.write(json.dumps({"ok": False, "error": _describe(error, root)}) + "\n")
        answers.flush()
        return
    answers.write(json.dumps({"ok": True, "statements": []}) + "\n")
    answers.flush()
    worker.serve(answers)


if __name__ == "__main__":
    main()
