"""Refusals that run before anything is written: protected environments, a public default
password on a shared database, stale schemas."""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Mapping
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict

from opsctl.config.models import EMBEDDED
from opsctl.errors import ConfigError, RefusedError

#: The variable that holds the seeded users' password (a name, not a password).
SEED_PASSWORD_VARIABLE = "SEED_PASSWORD"  # noqa: S105  # nosec B105


def refuse_protected(env_name: str, protected: bool) -> None:
    """Seeding replaces data: never in an environment marked ``protected``."""
    if protected:
        raise RefusedError(
            f"environment '{env_name}' is protected: opsctl never seeds it (nothing was written)",
            hint="seed a local or test environment instead, e.g. opsctl seed --env local",
        )


def refuse_public_default_password(
    env_name: str,
    database_url: str | None,
    environ: Mapping[str, str],
    *,
    config_file: str | None = None,
) -> None:
    """Without ``SEED_PASSWORD`` every seeded user gets the documented local default password:
    fine on this machine, an open door on a database others reach. Decided from the URL alone,
    before anything connects; ``embedded`` and loopback or Unix-socket hosts count as local."""
    if environ.get(SEED_PASSWORD_VARIABLE) or database_url in (None, "", EMBEDDED):
        return
    assert database_url is not None
    try:
        remote = non_local_hosts(database_url, environ)
    except ValueError as error:
        raise ConfigError(
            str(error), file=config_file, key=f"environments.{env_name}.database_url"
        ) from None
    if remote:
        raise RefusedError(
            f"environment '{env_name}': {SEED_PASSWORD_VARIABLE} is not set, so every seeded "
            "user would get the public default password of docs/seed.md on a database at "
            f"{', '.join(remote)}, which is not on this machine's loopback: anyone who reads "
            "the docs could log in (nothing was written)",
            hint=f"set {SEED_PASSWORD_VARIABLE} to a secret password for this environment "
            f"before seeding it, e.g. {SEED_PASSWORD_VARIABLE}=... opsctl seed --env {env_name}",
        )


def non_local_hosts(database_url: str, environ: Mapping[str, str]) -> list[str]:
    """The hosts a libpq URL or DSN connects to that are not loopback, ``localhost`` or a Unix
    socket. Raises ``ValueError`` when libpq cannot read it.

    Parsed by libpq itself (no connection, no DNS): several hosts, ``?host=`` and percent-encoded
    socket paths count, and a ``hostaddr`` replaces its host (libpq connects to the address).
    No host at all: ``PGHOST``/``PGHOSTADDR``, else libpq's default Unix socket (local).
    """
    from opsctl.database.urls import to_libpq

    try:
        params = conninfo_to_dict(to_libpq(database_url))
    except psycopg.Error:
        raise ValueError("not a PostgreSQL URL libpq can read") from None
    hosts = _split(params.get("host") or environ.get("PGHOST", ""))
    addresses = _split(params.get("hostaddr") or environ.get("PGHOSTADDR", ""))
    targets = [
        address or host
        for host, address in itertools.zip_longest(hosts, addresses, fillvalue="")
        if address or host
    ]
    return [target for target in targets if not _is_local(target)]


def _split(value: object) -> list[str]:
    return [item.strip() for item in str(value).split(",")] if value else []


def _is_local(host: str) -> bool:
    if host.startswith(("/", "@")) or host.lower() == "localhost":  # Unix socket paths
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name other than localhost: it may resolve anywhere
        return False


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
