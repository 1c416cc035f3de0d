"""Reversibility by state: every revision's downgrade restores exactly what was there before.

One throwaway database walks the history from base to head. For each revision: the snapshot
before (the previous step's result, so history runs once), upgrade, snapshot, downgrade,
compare with before, upgrade again, compare with the first upgrade. Only when a step fails and
leaves the database in an unknown state is a fresh database migrated to that revision from
scratch, so the rest of the history is still checked.

The walk is bounded (``opsctl.gates.migrations.bounds``): statement and lock timeouts on every
session, an overall deadline and the gate's ``cancelled`` event. A bound that stops it is not a
finding about the migration but a reason the gate is ``incomplete``, naming the revision and
what the walk was doing.
"""

from __future__ import annotations

import ast
import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from opsctl.database.throwaway import throwaway_database
from opsctl.database.urls import to_sqlalchemy
from opsctl.gates.interface import Finding, Severity
from opsctl.gates.migrations import data
from opsctl.gates.migrations.alembic_env import AlembicProject
from opsctl.gates.migrations.bounds import Bounds, Watchdog
from opsctl.gates.migrations.env_process import MigrationRunner, Statement, StepError
from opsctl.gates.migrations.history import (
    IRREVERSIBLE_MARKER,
    History,
    Revision,
    shown_path,
)
from opsctl.gates.migrations.lint import downgrade_is_empty
from opsctl.gates.migrations.snapshot import Difference, Snapshot, compare, take_snapshot

_SHORT = 160  # definitions longer than this are not quoted in messages


ENVIRONMENT_MISMATCH = (
    "env.py did not migrate the database opsctl gave it: it must use "
    "config.attributes['connection'] when set (or sqlalchemy.url)"
)


class _UpgradeFailedError(Exception):
    """A revision's upgrade failed (reported): nothing after it can be checked."""


class EnvironmentMismatchError(Exception):
    """env.py migrated some other database than the one opsctl gave it."""


@dataclass(frozen=True)
class Executed:
    """The SQL one ``upgrade()`` or ``downgrade()`` of a revision ran during the walk."""

    revision: str
    function: str  # "upgrade" or "downgrade"
    statements: list[Statement]
    environment: list[Statement]  # SET statements env.py ran first (they apply to these)
    schema_before: Snapshot  # the catalog the statements ran on


@dataclass
class WalkResult:
    findings: list[Finding] = field(default_factory=list)
    head: Snapshot | None = None  # the schema at head, for the drift check
    checked: int = 0  # revisions whose round trip was compared
    irreversible: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)  # what could not be judged
    seeded: dict[str, int] = field(default_factory=dict)  # table -> most rows checked at once
    unseeded: list[str] = field(default_factory=list)  # data tables created by the last revision
    executed: list[Executed] = field(default_factory=list)  # what each step ran, for the lint


def _error_text(error: BaseException, shown: str | None = None) -> str:
    """The error's type and first line; where it happened unless that is ``shown`` itself."""
    if isinstance(error, StepError):
        return error.kind_and_line if error.file == shown else error.described
    original = getattr(error, "orig", None) or error
    first = str(original).strip().splitlines()
    return f"{type(original).__name__}: {first[0] if first else ''}"


def _function_line(path: Path, name: str) -> int | None:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError):
        return None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return node.lineno
    return None


def describe_downgrade(
    revision: str, difference: Difference, upgraded: Snapshot
) -> tuple[str, str]:
    """Message and fix for one object the downgrade did not restore."""
    thing = difference.key.describe()
    prefix = f"after downgrading {revision}, {thing}"
    if difference.before is None:
        existed = "still exists" if difference.key in upgraded else "exists (it did not before)"
        return f"{prefix} {existed}", f"drop {thing} in downgrade()"
    if difference.after is None:
        return (
            f"{prefix} is missing (it existed before the upgrade)",
            f"re-create {thing} in downgrade()",
        )
    return f"{prefix} {_changed(difference)}", f"restore {thing} in downgrade()"


def _changed(difference: Difference) -> str:
    before, after = difference.before or "", difference.after or ""
    if len(before) <= _SHORT and len(after) <= _SHORT:
        return f"is `{after}` but was `{before}` before the upgrade"
    return "is defined differently than before the upgrade"


class _Walk:
    def __init__(
        self,
        project: AlembicProject,
        history: History,
        root: Path,
        data_tables: dict[str, int],
        progress: Callable[[str], None],
        cancelled: threading.Event,
        bounds: Bounds,
    ) -> None:
        self.cancelled = cancelled
        self.bounds = bounds
        self.watchdog: Watchdog | None = None
        self.revision: str | None = None  # where the walk is, for a reason if it is stopped
        self.doing = "preparing a throwaway database"
        self.later = 0  # revisions after the current one
        self.project = project
        self.history = history
        self.root = root
        self.data_tables = data_tables
        self.progress = progress
        self.result = WalkResult()
        self.stopped = False
        self.runner: MigrationRunner | None = None  # the worker of the current database
        self.environment: list[Statement] = []  # SET statements env.py runs before revisions

    def shown(self, revision: Revision) -> str:
        return shown_path(revision.file, self.root)

    def finding(
        self,
        revision: Revision,
        rule: str,
        message: str,
        fix: str,
        fn: str,
        error: BaseException | None = None,
    ) -> None:
        """A finding on ``revision``: at the line that failed, else at ``def <fn>()``."""
        line = _function_line(revision.file, fn)
        if isinstance(error, StepError) and error.file == self.shown(revision) and error.line:
            line = error.line
        self.result.findings.append(
            Finding(
                f"migrations/{rule}",
                message,
                file=self.shown(revision),
                line=line,
                help=fix,
            )
        )

    @contextlib.contextmanager
    def database(self, server_url: str, at: str | None) -> Iterator[sa.Connection]:
        """A throwaway database with the version table, migrated to ``at`` if given.

        opsctl reads the catalog on its own connection; ``env.py`` runs in a worker process
        (``self.runner``) wired to the same database the way the service expects.
        """
        watchdog = self.watchdog
        assert watchdog is not None  # set by run()
        with throwaway_database(server_url) as plain, watchdog.watching(plain):
            url = self.bounds.url(plain)  # every session of opsctl's starts with the timeouts
            engine = sa.create_engine(to_sqlalchemy(url), poolclass=sa.NullPool)
            try:
                with (
                    engine.connect() as connection,
                    self.project.runner(
                        self.root,
                        plain,
                        session_options=self.bounds.session_options(),
                        stopped=lambda: watchdog.reason,
                    ) as runner,
                ):
                    self.runner = runner
                    try:
                        self.environment = [s for s in runner.prepare() if s.env]
                    except StepError as error:
                        if watchdog.explain(error) is not None:
                            raise
                        raise EnvironmentMismatchError(
                            f"env.py fails before any revision runs: {error.described}"
                        ) from None
                    if not self.project.has_version_table(connection):
                        # caught before any migration ran on whatever env.py connected to
                        raise EnvironmentMismatchError(ENVIRONMENT_MISMATCH)
                    if at is not None:
                        runner.upgrade(at)
                    yield connection
            finally:
                self.runner = None
                engine.dispose()

    def record(
        self, revision: Revision, function: str, before: Snapshot, statements: list[Statement]
    ) -> None:
        self.result.executed.append(
            Executed(revision.id, function, statements, self.environment, before)
        )

    def seed_and_read(self, connection: sa.Connection) -> dict[str, data.Rows]:
        rows: dict[str, data.Rows] = {}
        for table, count in self.data_tables.items():
            problem = data.seed(connection, table, count)
            if problem and problem not in self.result.reasons:
                self.result.reasons.append(problem)
            read = data.read_rows(connection, table)
            if read is not None:
                rows[table] = read
                self.result.seeded[table] = max(self.result.seeded.get(table, 0), len(read.rows))
        return rows

    def check_rows(
        self, connection: sa.Connection, before: dict[str, data.Rows], revision: Revision, when: str
    ) -> None:
        """Report lost rows; tables reported after the upgrade are not reported again."""
        for table, rows in list(before.items()):
            problem = data.lost(rows, data.read_rows(connection, table))
            if problem:
                del before[table]
                self.finding(
                    revision,
                    "data",
                    f"after {when} {revision.id}, seeded rows of {table} did not survive: "
                    f"{problem}",
                    "keep the data: copy it before changing or dropping what holds it",
                    "upgrade" if when == "upgrading" else "downgrade",
                )

    def unknown_data_tables(self, connection: sa.Connection) -> None:
        """A table of ``data`` that does not exist even at head is a mistake in the section.

        One that exists at head but was never seeded is created by the last revision: no
        upgrade has run over its rows yet. Nothing to judge, but the report must say so.
        """
        for table in self.data_tables:
            if table in self.result.seeded:
                continue
            if data.read_rows(connection, table) is None:
                self.result.reasons.append(
                    f"data not checked for {table}: no such table at head (migrations.data)"
                )
            else:
                self.result.unseeded.append(table)

    def doing_now(self, what: str) -> None:
        """Say what the walk does next (for the reason if a bound stops it); stop if due."""
        self.doing = what
        if self.watchdog is not None:
            self.watchdog.check()

    def unless_stopped(self, error: Exception) -> None:
        """Re-raise ``error`` when a bound (not the migration's own code) caused it."""
        if self.watchdog is not None and self.watchdog.explain(error) is not None:
            raise error

    def stopped_by(self, why: str) -> str:
        where = f"at {self.revision}" if self.revision else "before the first revision"
        later = f"; {self.later} later revision(s) not checked" if self.later else ""
        return f"stopped {where} while {self.doing}: {why}{later}"

    def run(self, server_url: str) -> WalkResult:
        stack = contextlib.ExitStack()
        with Watchdog(server_url, self.cancelled, self.bounds) as watchdog:
            self.watchdog = watchdog
            try:
                self.walk(server_url, stack)
            except Exception as error:
                why = watchdog.explain(error)
                if why is None:
                    raise
                self.stopped = True
                self.result.head = None
                self.result.reasons.append(self.stopped_by(why))
            finally:
                stack.close()
        return self.result

    def walk(self, server_url: str, stack: contextlib.ExitStack) -> None:
        assert self.watchdog is not None  # set by run()
        chain = self.project.chain()
        connection = stack.enter_context(self.database(server_url, None))
        before = take_snapshot(connection)
        for index, revision_id in enumerate(chain):
            self.revision, self.later = revision_id, len(chain) - index - 1
            self.doing_now("starting its check")
            revision = self.history.revisions[revision_id]
            self.progress(f"migrations: {index + 1}/{len(chain)} {revision_id}")
            try:
                outcome = self.step(connection, revision, before)
            except _UpgradeFailedError:
                self.stopped = True
                self.result.reasons.append(
                    f"stopped at {revision_id}: its upgrade fails"
                    + (f"; {self.later} later revision(s) not checked" if self.later else "")
                )
                return
            if outcome is None:
                # the database is in an unknown state: continue on a fresh one at this step
                stack.close()
                self.doing_now("migrating a fresh database to it")
                try:
                    connection = stack.enter_context(self.database(server_url, revision_id))
                except Exception as error:  # the history itself is broken here
                    if self.watchdog.explain(error) is not None:
                        raise
                    self.stopped = True
                    self.result.reasons.append(
                        f"stopped at {revision_id}: cannot migrate a fresh database to it "
                        f"({_error_text(error)}); later revisions were not checked"
                    )
                    return
                outcome = take_snapshot(connection)
            before = outcome
        self.doing_now("checking the data tables at head")
        self.unknown_data_tables(connection)
        self.result.head = before

    def step(
        self,
        connection: sa.Connection,
        revision: Revision,
        before: Snapshot,
    ) -> Snapshot | None:
        """Round-trip one revision; the snapshot after it, or None if the state is unknown."""
        if self.data_tables:
            self.doing_now("seeding data before its upgrade()")
        seeded = self.seed_and_read(connection) if self.data_tables else {}
        self.doing_now("running its upgrade()")
        runner = self.runner
        assert runner is not None  # set by database()
        try:
            self.record(revision, "upgrade", before, runner.upgrade(revision.id))
        except StepError as error:  # any error of the user's migration is a finding
            self.unless_stopped(error)
            self.finding(
                revision,
                "upgrade",
                f"upgrading to {revision.id} fails: {_error_text(error, self.shown(revision))}",
                "fix upgrade(); it must run on a database at the previous revision"
                + (" holding the seeded rows" if seeded else ""),
                "upgrade",
                error,
            )
            self.record(revision, "upgrade", before, error.statements)
            raise _UpgradeFailedError from None
        if revision.id not in self.project.current(connection):  # other branches may be there
            raise EnvironmentMismatchError(ENVIRONMENT_MISMATCH)
        self.doing_now("reading the schema after its upgrade()")
        upgraded = take_snapshot(connection)
        self.check_rows(connection, seeded, revision, "upgrading")
        if revision.irreversible:
            self.result.irreversible.append(revision.id)
            self.result.findings.append(
                Finding(
                    "migrations/irreversible",
                    f"revision {revision.id} is declared irreversible: {revision.irreversible}",
                    severity=Severity.NOTE,
                    file=self.shown(revision),
                    line=_function_line(revision.file, "downgrade"),
                )
            )
            return upgraded
        source = revision.file.read_text(encoding="utf-8")
        if downgrade_is_empty(source):
            self.finding(
                revision,
                "reversibility",
                f"downgrade() of {revision.id} is empty",
                "undo upgrade() in downgrade(), or declare the revision irreversible with "
                f'`{IRREVERSIBLE_MARKER} = "reason"` at module level',
                "downgrade",
            )
        self.doing_now("running its downgrade()")
        try:
            self.record(revision, "downgrade", upgraded, runner.downgrade_one(revision.id))
        except StepError as error:  # any error of the user's migration is a finding
            self.unless_stopped(error)
            self.finding(
                revision,
                "reversibility",
                f"downgrading {revision.id} fails: {_error_text(error, self.shown(revision))}",
                "fix downgrade(), or declare the revision irreversible with "
                f'`{IRREVERSIBLE_MARKER} = "reason"` at module level',
                "downgrade",
                error,
            )
            self.record(revision, "downgrade", upgraded, error.statements)
            intact = revision.id in self.project.current(connection)
            return upgraded if intact and take_snapshot(connection) == upgraded else None
        self.doing_now("reading the schema after its downgrade()")
        for difference in compare(before, take_snapshot(connection)):
            message, fix = describe_downgrade(revision.id, difference, upgraded)
            self.finding(revision, "reversibility", message, fix, "downgrade")
        self.check_rows(connection, seeded, revision, "downgrading")
        self.doing_now("running its upgrade() again")
        try:
            runner.upgrade(revision.id)
        except StepError as error:  # any error of the user's migration is a finding
            self.unless_stopped(error)
            self.finding(
                revision,
                "reversibility",
                f"upgrading {revision.id} again after its downgrade fails: "
                f"{_error_text(error, self.shown(revision))}",
                "downgrade() leaves something upgrade() creates: drop it in downgrade()",
                "downgrade",
            )
            return None
        again = take_snapshot(connection)
        for difference in compare(upgraded, again):
            thing = difference.key.describe()
            if difference.before is None:
                how = "exists, but did not after the first upgrade"
            elif difference.after is None:
                how = "is missing, but existed after the first upgrade"
            else:
                how = "is defined differently than after the first upgrade"
            self.finding(
                revision,
                "reversibility",
                f"after upgrading {revision.id} again, {thing} {how}",
                "make downgrade() undo all of upgrade(), and upgrade() not depend on leftovers",
                "upgrade",
            )
        self.result.checked += 1
        return again


def walk_history(
    project: AlembicProject,
    history: History,
    server_url: str,
    root: Path,
    data_tables: dict[str, int],
    progress: Callable[[str], None],
    cancelled: threading.Event | None = None,
    bounds: Bounds | None = None,
) -> WalkResult:
    """Round-trip every revision on a throwaway database of ``server_url``."""
    walk = _Walk(
        project,
        history,
        root,
        data_tables,
        progress,
        cancelled or threading.Event(),
        bounds or Bounds(),
    )
    return walk.run(server_url)
