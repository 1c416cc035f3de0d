"""Refusals that run before anything is written: protected environments, stale schemas."""

from __future__ import annotations

from pathlib import Path

import psycopg

from opsctl.errors import ConfigError, RefusedError


def refuse_protected(env_name: str, protected: bool) -> None:
    """Seeding replaces data: never in an environment marked ``protected``."""
    if protected:
        raise RefusedError(
            f"environment '{env_name}' is protected: opsctl never seeds it (nothing was written)",
            hint="seed a local or test environment instead, e.g. opsctl seed --env local",
        )


def repository_heads(alembic_ini: Path) -> set[str]:
    """The head revisions of the repository's Alembic scripts."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from alembic.util.exc import CommandError

    if not alembic_ini.is_file():
        raise ConfigError("Alembic config file not found", file=str(alembic_ini), key="migrations")
    config = Config(str(alembic_ini))
    location = config.get_main_option("script_location")
    if location and not Path(location).is_absolute() and ":" not in location:
        # Alembic resolves a relative location from the working directory; opsctl runs from
        # anywhere inside the repository, so resolve it next to alembic.ini instead.
        resolved = (alembic_ini.parent / location).resolve()
        config.set_main_option("script_location", str(resolved).replace("%", "%%"))
    try:
        return set(ScriptDirectory.from_config(config).get_heads())
    except CommandError as error:
        raise ConfigError(f"cannot read the migrations: {error}", file=str(alembic_ini)) from None


def database_revisions(connection: psycopg.Connection[tuple[object, ...]]) -> set[str]:
    """The revisions stamped in ``alembic_version`` (empty when the table is missing)."""
    exists = connection.execute("SELECT to_regclass('alembic_version') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return set()
    rows = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    return {str(row[0]) for row in rows}


def refuse_unless_at_head(
    connection: psycopg.Connection[tuple[object, ...]], alembic_ini: Path
) -> None:
    """Seeding a schema that is not the repository's head would write rows the code can't read."""
    heads = repository_heads(alembic_ini)
    current = database_revisions(connection)
    if current != heads:
        shown = ", ".join(sorted(current)) or "none (not migrated)"
        raise RefusedError(
            f"the database is at Alembic revision {shown}, not the repository's head "
            f"{', '.join(sorted(heads))}: nothing was written",
            hint=f"migrate it first: alembic -c {alembic_ini.name} upgrade head "
            "(opsctl up also migrates the local environment)",
        )
