"""A project's Alembic configuration, read in opsctl's process (no ``env.py`` runs here).

The migrations themselves run in a child process, with the service's environment
(:mod:`opsctl.gates.migrations.env_process`), so that ``env.py`` runs as it is.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator, Mapping
from configparser import Error as ConfigParserError
from pathlib import Path

import psycopg
import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory

from opsctl.errors import ConfigError
from opsctl.gates.migrations.bounds import is_bound_hit
from opsctl.gates.migrations.env_process import MigrationRunner, worker_environment
from opsctl.gates.migrations.snapshot import fetch

VERSION_TABLE = "alembic_version"


@contextlib.contextmanager
def project_imports(root: Path, extra: list[Path]) -> Iterator[None]:
    """Make the project importable; afterwards forget the modules only this made importable.

    Forgetting them lets one process check several projects (tests, benchmarks) whose
    modules share names. Modules importable without these paths (an installed service, opsctl
    itself, the virtualenv) stay: another gate running in the same process may use them.
    """
    importable = [Path(entry or ".").resolve() for entry in sys.path]
    paths = [str(path) for path in (*extra, root / "src", root)]
    before = set(sys.modules)
    sys.path[:0] = paths
    try:
        yield
    finally:
        for path in paths:
            with contextlib.suppress(ValueError):
                sys.path.remove(path)
        for name in set(sys.modules) - before:
            module_file = getattr(sys.modules.get(name), "__file__", None)
            if module_file is None:
                continue
            location = Path(module_file).resolve()
            if location.is_relative_to(root.resolve()) and not any(
                location.is_relative_to(entry) for entry in importable
            ):
                del sys.modules[name]


class AlembicProject:
    """A project's Alembic configuration, with ``script_location`` made absolute."""

    def __init__(
        self,
        ini_path: Path,
        *,
        database_env: Mapping[str, str] | None = None,
        service_env: Mapping[str, str] | None = None,
    ) -> None:
        if not ini_path.is_file():
            raise ConfigError("Alembic config file not found", file=str(ini_path))
        self.ini_path = ini_path
        self.config = Config(str(ini_path))
        try:
            self.config.file_config.sections()  # read the file now (memoized)
            location = self.config.get_main_option("script_location")
            prepend = self.config.get_main_option("prepend_sys_path") or ""
        except ConfigParserError as error:
            raise ConfigError(f"cannot read it: {error}", file=str(ini_path)) from None
        if not location:
            raise ConfigError("no script_location", file=str(ini_path), key="script_location")
        if ":" not in location or Path(location).is_absolute():
            # Alembic resolves relative paths against the working directory; users run it from
            # the folder of alembic.ini, so that is what opsctl resolves against.
            location_path = (ini_path.parent / location).resolve()
            self.config.set_main_option("script_location", str(location_path).replace("%", "%%"))
            self.versions_dir = location_path / "versions"
        else:
            self.versions_dir = Path()  # package resource: history reads it through Alembic
        self.sys_paths = [
            (ini_path.parent / entry).resolve()
            for entry in prepend.replace(",", " ").replace(":", " ").split()
        ]
        # how the service receives its database and settings (opsctl.config.service_wiring)
        self.database_env = database_env
        self.service_env = dict(service_env or {})
        self._script: ScriptDirectory | None = None

    @property
    def script(self) -> ScriptDirectory:
        if self._script is None:
            self._script = ScriptDirectory.from_config(self.config)
        return self._script

    def chain(self) -> list[str]:
        """Revision ids from base to head (a single-head history)."""
        return [rev.revision for rev in reversed(list(self.script.walk_revisions()))]

    def runner(
        self,
        root: Path,
        database_url: str,
        *,
        session_options: str | None = None,
        stopped: Callable[[], str | None] = lambda: None,
    ) -> MigrationRunner:
        """A worker running this project's ``env.py`` on ``database_url`` (a context manager)."""
        return MigrationRunner(
            ini=self.ini_path,
            script_location=self.config.get_main_option("script_location") or "",
            root=root,
            sys_paths=self.sys_paths,
            database_url=database_url,
            environment=worker_environment(
                self.database_env, self.service_env, database_url, session_options
            ),
            stopped=stopped,
        )

    def has_version_table(self, connection: sa.Connection) -> bool:
        """True when ``connection``'s database has a table: :meth:`prepare` made it there."""
        query = (
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
        )
        return bool(fetch(connection, query)[0][0])

    def current(self, connection: sa.Connection) -> list[str]:
        """Revisions recorded in the version table of ``connection``'s database."""
        try:
            rows = fetch(connection, f"SELECT version_num FROM {VERSION_TABLE}")  # noqa: S608
        except psycopg.Error as error:
            if is_bound_hit(error):  # a timeout or a cancel, not a missing table
                raise
            return []
        return sorted(str(row[0]) for row in rows)
