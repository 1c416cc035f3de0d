"""Seed an environment named in ``opsctl.yaml``: guards, plan loading, error translation.

This is the one place psycopg and plan errors become :mod:`opsctl.errors`. ``opsctl seed`` and
``opsctl up`` both call :func:`seed_environment`.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg

from opsctl.config.models import LoadedProject
from opsctl.config.project import get_environment
from opsctl.errors import ConfigError, DatabaseError, RefusedError, UsageError
from opsctl.seed.engine import (
    AlreadySeeded,
    DryRun,
    Mode,
    ProgressSink,
    SeedOptions,
    SeedResult,
    dry_run,
    seed,
)
from opsctl.seed.guards import (
    refuse_protected,
    refuse_public_default_password,
    refuse_unless_at_head,
)
from opsctl.seed.plan import PlanError, Scale, SeedPlan


def today_utc() -> date:
    """The default anchor date: today in UTC (so due dates sit around the day of the run)."""
    return datetime.now(UTC).date()


def parse_scale(text: str) -> Scale | int:
    """``small``/``medium``/``large`` or a positive total row count."""
    try:
        return Scale(text.lower())
    except ValueError:
        pass
    if text.replace("_", "").isdigit() and int(text) > 0:
        return int(text)
    raise ValueError(f"'{text}' is not small, medium, large or a positive row count")


def load_plan(project: LoadedProject) -> SeedPlan:
    """Import ``service.seed`` (``module:attribute``; a SeedPlan or a function returning one)."""
    reference = project.config.service.seed
    if not reference:
        raise ConfigError(
            "no seed plan configured",
            file=project.path.name,
            key="service.seed",
            hint="name the service's plan, e.g. service.seed: my_service.seed:plan",
        )
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise ConfigError(
            f"'{reference}' is not 'module:attribute'", file=project.path.name, key="service.seed"
        )
    with _importable_from(str(project.root)):
        try:
            module = importlib.import_module(module_name)
        except ImportError as error:
            raise ConfigError(
                f"cannot import {module_name}: {error}", file=project.path.name, key="service.seed"
            ) from None
    found = getattr(module, attribute, None)
    plan = found
    if callable(found) and not isinstance(found, SeedPlan):
        try:
            plan = found()
        except Exception as error:  # the service's own code: report it as its config's fault
            raise ConfigError(
                f"calling {reference}() failed: {type(error).__name__}: {error}",
                file=project.path.name,
                key="service.seed",
            ) from None
    if not isinstance(plan, SeedPlan):
        raise ConfigError(
            f"{reference} is not a SeedPlan (got {type(plan).__name__})",
            file=project.path.name,
            key="service.seed",
        )
    return plan


@contextlib.contextmanager
def _importable_from(folder: str) -> Iterator[None]:
    added = folder not in sys.path
    if added:
        sys.path.insert(0, folder)
    try:
        yield
    finally:
        if added:
            sys.path.remove(folder)


def seed_environment(
    project: LoadedProject,
    env_name: str,
    scale: Scale | int | str = Scale.SMALL,
    *,
    seed_value: int = 1,
    mode: Mode = Mode.REPLACE,
    anchor: date | None = None,
    dry_run_only: bool = False,
    only_if_empty: bool = False,
    progress: ProgressSink | None = None,
) -> SeedResult | DryRun | AlreadySeeded:
    """Seed (or plan seeding) the data database of ``env_name``. Raises :mod:`opsctl.errors`.

    ``opsctl up`` calls ``seed_environment(project, env_name, "small", only_if_empty=True)``
    after migrating: a re-run of ``up`` keeps the data a developer has been working with.
    """
    if isinstance(scale, str) and not isinstance(scale, Scale):
        try:
            scale = parse_scale(scale)
        except ValueError as error:
            raise UsageError(f"--scale: {error}") from None
    environment = get_environment(project, env_name)
    refuse_protected(env_name, environment.protected)
    configured = environment.database_url
    refuse_public_default_password(
        env_name,
        configured.get_secret_value() if configured else None,
        os.environ,
        config_file=project.path.name,
    )
    plan = load_plan(project)
    from opsctl.database.servers import environment_database_url

    url = environment_database_url(project, environment)
    options = SeedOptions(
        scale=scale,
        seed=seed_value,
        mode=mode,
        anchor=anchor or today_utc(),
        only_if_empty=only_if_empty,
    )
    migrations = project.config.service.migrations
    return seed_database(
        url,
        plan,
        options,
        alembic_ini=project.resolve(migrations) if migrations else None,
        dry_run_only=dry_run_only,
        progress=progress,
        plan_name=project.config.service.seed or "plan",
    )


def seed_database(
    url: str,
    plan: SeedPlan,
    options: SeedOptions,
    *,
    alembic_ini: Path | None = None,
    dry_run_only: bool = False,
    progress: ProgressSink | None = None,
    plan_name: str = "plan",
) -> SeedResult | DryRun | AlreadySeeded:
    """Seed the database at ``url`` (a libpq URL); the guards run first."""
    try:
        connection = psycopg.connect(url, connect_timeout=10)
    except psycopg.Error as error:
        raise DatabaseError(f"cannot connect to the database: {error}".strip()) from None
    with connection:
        try:
            if alembic_ini is not None:
                refuse_unless_at_head(connection, alembic_ini)
                connection.rollback()
            if dry_run_only:
                return dry_run(connection, plan, options)
            return seed(connection, plan, options, progress)
        except PlanError as error:
            raise ConfigError(str(error), key=plan_name) from None
        except psycopg.errors.UniqueViolation as error:
            raise RefusedError(
                f"seeding would duplicate existing rows: {_first_line(error)}; nothing was written",
                hint="use --mode replace, or --mode append with another --seed",
            ) from None
        except psycopg.Error as error:
            raise DatabaseError(
                f"seeding failed, nothing was written: {_first_line(error)}"
            ) from None


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
