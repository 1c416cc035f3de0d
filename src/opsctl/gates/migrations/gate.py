"""``opsctl verify migrations``: history, safety lint, reversibility by state, drift, data.

The static checks (history, lint) need no database. The others run on throwaway databases of
the environment's server, never on its data database; when that server cannot be reached the
gate is ``incomplete`` (or ``failed`` if the static checks already failed), never ``passed``.
"""

from __future__ import annotations

import importlib
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from opsctl.config.loader import parse_yaml
from opsctl.errors import ConfigError, DatabaseError, RefusedError
from opsctl.gates.interface import (
    Finding,
    Gate,
    GateContext,
    GateResult,
    Measurement,
    Severity,
    Status,
)
from opsctl.gates.migrations import drift
from opsctl.gates.migrations.alembic_env import AlembicProject, project_imports
from opsctl.gates.migrations.bounds import Bounds, WalkStoppedError
from opsctl.gates.migrations.history import History, read_history, shown_path
from opsctl.gates.migrations.lint import lint_file
from opsctl.gates.migrations.reversibility import EnvironmentMismatchError, walk_history
from opsctl.gates.migrations.settings import MigrationsSettings
from opsctl.gates.migrations.snapshot import Snapshot
from opsctl.gates.tools import tool_versions

_MODULES_BOTH_THREADS_IMPORT = (
    "sqlalchemy.orm",
    "sqlalchemy.dialects.postgresql.psycopg",
    "alembic.command",
    "alembic.operations",
    "alembic.runtime.migration",
    "alembic.autogenerate",
)


class MigrationsGate(Gate):
    """Proves a service's Alembic migrations can ship."""

    name = "migrations"
    description = "Alembic history, reversibility by state, model drift, safety lint, data"

    def skip_reason(self, context: GateContext) -> str | None:
        asked = getattr(context.definition_of_done, "migrations", None) is not None
        if context.project.config.service.migrations is None and not asked:
            return "the service has no migrations (service.migrations in opsctl.yaml)"
        _alembic_ini(context)  # a Definition of Done asking for what is not there: exit 2
        return None

    def run(self, context: GateContext) -> GateResult:
        started = time.monotonic()
        settings = getattr(context.definition_of_done, "migrations", None) or MigrationsSettings()
        project = context.project
        alembic = AlembicProject(  # ConfigError: a wrong alembic.ini
            _alembic_ini(context),
            database_env=project.config.service.database_env,
            service_env=project.config.service.env,
        )
        run = _Run(context, settings, alembic)
        with project_imports(project.root, alembic.sys_paths):
            run.check()
        return run.result(time.monotonic() - started)


def _key_line(path: Path, *key: str) -> int | None:
    """The line of ``key`` in a YAML file (None if it cannot be read)."""
    try:
        _data, lines = parse_yaml(path.read_text(encoding="utf-8"), file=str(path))
    except (OSError, UnicodeDecodeError, ConfigError):
        return None
    return lines.get(key)


def _alembic_ini(context: GateContext) -> Path:
    """The path of ``alembic.ini``; a :class:`ConfigError` if it is not set or not there.

    Deleting ``service.migrations`` must not turn the gate off silently while the Definition
    of Done asks for it: that is a configuration error (exit 2), not a skipped gate.
    """
    project = context.project
    config_file = shown_path(project.path, project.root)
    relative = project.config.service.migrations
    if relative is None:
        dod = project.config.definition_of_done
        line = _key_line(project.resolve(dod), "migrations")
        raise ConfigError(
            f"not set, but {dod}{f':{line}' if line else ''} has a `migrations` section that "
            "asks for the migrations gate",
            file=config_file,
            line=_key_line(project.path, "service"),
            key="service.migrations",
            hint="set service.migrations to the path of alembic.ini, or remove the "
            f"`migrations` key from {dod}",
        )
    ini = project.resolve(relative)
    if not ini.is_file():
        raise ConfigError(
            f"the Alembic config file {relative} does not exist ({ini})",
            file=config_file,
            line=_key_line(project.path, "service", "migrations"),
            key="service.migrations",
            hint="service.migrations is the path of alembic.ini, relative to the repository root",
        )
    return ini


class _Run:
    """The state of one run of the gate."""

    def __init__(
        self, context: GateContext, settings: MigrationsSettings, alembic: AlembicProject
    ) -> None:
        self.context = context
        self.settings = settings
        self.alembic = alembic
        self.root = context.project.root
        self.findings: list[Finding] = []
        self.reasons: list[str] = []
        self.details: dict[str, Any] = {}
        self.measurements: list[Measurement] = []
        self.history = History()
        self.bounds = Bounds(
            timeout=settings.timeout,
            statement_timeout=settings.statement_timeout,
            lock_timeout=settings.lock_timeout,
        )

    def shown(self, path: Path) -> str:
        return shown_path(path, self.root)

    def check(self) -> None:
        progress = self.context.progress
        progress("migrations: reading the history")
        versions = self.alembic.versions_dir
        if versions == Path():
            versions = Path(self.alembic.script.versions)
        if not versions.is_dir():
            raise ConfigError(
                f"the Alembic versions folder {versions} does not exist",
                file=self.shown(self.alembic.ini_path),
                key="script_location",
            )
        self.history = read_history(versions, self.root)
        self.findings += self.history.findings
        progress("migrations: linting revisions")
        ignore, warn = set(self.settings.lint.ignore), set(self.settings.lint.warn)
        for revision in self.history.revisions.values():
            self.findings += lint_file(
                revision.file, revision.id, self.shown(revision.file), ignore, warn
            )
        self.details["revisions"] = len(self.history.revisions)
        if not self.history.revisions and self.history.sound:
            self.reasons.append(f"no revisions in {self.shown(versions)}: nothing to check")
            return
        if not self.history.sound:
            self.reasons.append("the history is broken, so no database check ran")
            return
        try:
            from opsctl.database.servers import server_admin_url

            server_url = server_admin_url(self.context.project, self.context.environment)
            self.database_checks(server_url)
        except (DatabaseError, ConfigError, RefusedError) as error:
            # a protected environment: the static checks above are judged, the rest is not
            self.reasons.append(f"database checks did not run: {error}")
        except EnvironmentMismatchError as error:
            self.reasons.append(str(error))

    def database_checks(self, server_url: str) -> None:
        # The models' database is built while the history is walked: two databases, two cores.
        # Both threads import SQLAlchemy and Alembic modules lazily; two threads importing one
        # package graph with cycles at once can be handed a half-initialised module
        # ("partially initialized module 'sqlalchemy.orm.exc'", seen in CI), so import them here
        # first, in one thread.
        for module in _MODULES_BOTH_THREADS_IMPORT:
            importlib.import_module(module)
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="opsctl-drift") as pool:
            drift_work = self.start_drift(pool, server_url) if self.settings.drift else None
            started = time.monotonic()
            walk = walk_history(
                self.alembic,
                self.history,
                server_url,
                self.root,
                self.settings.data,
                self.context.progress,
                self.context.cancelled,
                self.bounds,
            )
            self.details["reversibility_s"] = round(time.monotonic() - started, 3)
            self.findings += walk.findings
            self.reasons += walk.reasons
            self.details["round_tripped"] = walk.checked
            self.details["irreversible"] = walk.irreversible
            if self.settings.data:
                self.details["seeded_rows"] = walk.seeded
            if walk.unseeded:
                self.details["data_not_yet_checked"] = walk.unseeded
                self.findings.append(
                    Finding(
                        "migrations/data",
                        f"seeded rows of {', '.join(walk.unseeded)} were not checked: the last "
                        "revision creates these tables, so no upgrade has run over their rows "
                        "yet (the next revision will be checked against them)",
                        severity=Severity.NOTE,
                    )
                )
            total = len(self.history.revisions)
            self.measurements.append(
                Measurement(
                    "revisions round-tripped",
                    walk.checked + len(walk.irreversible),
                    threshold=total,
                    unit="revisions",
                    passed=walk.checked + len(walk.irreversible) == total,
                )
            )
            if drift_work is None:
                return
            models, imports, shown = drift_work
            if walk.head is None:
                self.reasons.append("drift not checked: the history could not be migrated to head")
            else:
                self.compare_models(models, walk.head, shown)
            if imports is not None:
                self.findings += imports.result()

    def compare_models(self, models: Future[Snapshot], head: Snapshot, shown: str | None) -> None:
        try:
            built = models.result()
        except WalkStoppedError as error:
            self.reasons.append(f"drift not checked: {error}")
            return
        except drift.ModelsBuildError as error:
            self.findings.append(
                Finding(
                    "migrations/drift",
                    f"metadata.create_all() of the models fails on an empty database: {error}",
                    file=shown,
                    help="fix the models (or their DDL event listeners) so they can be created",
                )
            )
            return
        self.details["objects_compared"] = len(built)
        self.findings += drift.compare_with_models(
            built, head, self.settings.allow, shown, self.model_locations()
        )

    def model_locations(self) -> dict[str, drift.Location]:
        """Where the models' modules spell each table name, so findings point at a line."""
        reference = self.context.project.config.service.metadata or ""
        module = sys.modules.get(reference.partition(":")[0])
        module_file = getattr(module, "__file__", None)
        if module_file is None:
            return {}
        path = Path(module_file)
        files = sorted(path.parent.rglob("*.py")) if path.name == "__init__.py" else [path]
        return drift.table_locations(files, self.shown)

    def start_drift(
        self, pool: ThreadPoolExecutor, server_url: str
    ) -> tuple[Future[Snapshot], Future[list[Finding]] | None, str | None] | None:
        """Load the metadata and start building its database; None if that cannot be done."""
        reference = self.context.project.config.service.metadata
        if reference is None:
            self.reasons.append("drift not checked: service.metadata is not set in opsctl.yaml")
            return None
        try:
            metadata = drift.load_metadata(reference)
        except Exception as error:  # the user's models failing to import is a finding
            self.findings.append(
                Finding(
                    "migrations/drift",
                    f"cannot load service.metadata '{reference}': {type(error).__name__}: {error}",
                    help="service.metadata in opsctl.yaml must name a MetaData as module:attr",
                )
            )
            return None
        module = sys.modules[reference.partition(":")[0]]
        module_file = getattr(module, "__file__", None)
        shown = self.shown(Path(module_file)) if module_file else None
        models = pool.submit(drift.models_snapshot, metadata, server_url, self.bounds)
        package = self.settings.models or (module.__name__ if hasattr(module, "__path__") else None)
        imports = None
        if package is not None:
            paths = [*self.alembic.sys_paths, self.root]
            imports = pool.submit(
                drift.unimported_models, reference, package, self.root, paths, shown
            )
        return models, imports, shown

    def result(self, duration: float) -> GateResult:
        errors = [f for f in self.findings if f.severity is Severity.ERROR and not f.accepted]
        warnings = [f for f in self.findings if f.severity is Severity.WARNING]
        self.measurements.append(
            Measurement(
                "blocking findings",
                len(errors),
                threshold=0,
                comparison="<=",
                unit="findings",
                passed=not errors,
            )
        )
        count = self.details.get("revisions", 0)
        revisions = f"{count} revision{'' if count == 1 else 's'}"
        # every measurement counts: one that did not pass, or was not measured, is never passed
        failing = [m for m in self.measurements if m.passed is False]
        unmeasured = [
            m
            for m in self.measurements
            if m.threshold is not None and m.value is None and m.passed is not True
        ]
        if errors:
            status = Status.FAILED
            first = errors[0]
            where = f"{first.file}:{first.line}" if first.line else (first.file or "")
            summary = f"{len(errors)} blocking finding(s) in {revisions}"
            summary += f"; first at {where}" if where else ""
        elif self.reasons:  # they say why a measurement fell short: nothing was judged wrong
            status = Status.INCOMPLETE
            summary = "could not check everything: " + self.reasons[0]
        elif failing:
            status = Status.FAILED
            summary = (
                "; ".join(
                    f"{m.name}: {m.render_value()}{f' {m.unit}' if m.unit else ''}, "
                    f"needs {m.comparison} {m.threshold:g}"
                    for m in failing
                    if m.threshold is not None
                )
                or f"{failing[0].name} did not pass"
            )
        elif unmeasured:
            status = Status.INCOMPLETE
            self.reasons += [f"{m.name} could not be measured" for m in unmeasured]
            summary = "could not check everything: " + self.reasons[0]
        else:
            status = Status.PASSED
            summary = f"{revisions}: reversible, safe, in step with the models"
            if not self.settings.drift:
                summary = f"{revisions}: reversible and safe (drift check off)"
        if warnings and status is not Status.INCOMPLETE:
            summary += f" ({len(warnings)} warning(s))"
        return GateResult(
            gate=MigrationsGate.name,
            status=status,
            summary=summary,
            measurements=self.measurements,
            findings=self.findings,
            tools=tool_versions("alembic", "sqlalchemy"),
            duration_s=duration,
            details=self.details,
            reasons=self.reasons,
        )
