"""How a service receives its database and settings: the one place that builds its environment.

Every gate that runs the service's own code (its tests, its Alembic ``env.py``, its server) gets
the environment from :func:`service_environment`, so that a service that reads ``DATABASE_URL``,
one that assembles its URL from ``POSTGRES_SERVER``/``POSTGRES_PORT``/... parts, and one that
needs extra variables to start are all wired the same way, from ``opsctl.yaml``::

    service:
      database_env:            # default: {DATABASE_URL: "{url}"}
        POSTGRES_SERVER: "{host}"
        POSTGRES_PORT: "{port}"
        POSTGRES_USER: "{user}"
        POSTGRES_PASSWORD: "{password}"
        POSTGRES_DB: "{database}"
      env:                     # extra variables (secrets via ${VAR} from the environment)
        SECRET_KEY: ${SECRET_KEY:-local-only}

Process environment variables win over ``.env`` files in pydantic-settings and in python-dotenv
(``override=False``, its default), so setting them is what makes opsctl's values win; the gates
still confirm afterwards that the database they gave was the one used (see
:func:`opsctl.database.usage.database_activity`), because a service can read its file last.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit

from opsctl.database.urls import to_libpq, to_sqlalchemy

#: The placeholders a ``database_env`` value may use, filled from the database URL's parts.
URL_PLACEHOLDERS = ("url", "sqlalchemy_url", "host", "port", "user", "password", "database")
DEFAULT_DATABASE_ENV: dict[str, str] = {"DATABASE_URL": "{url}"}
#: Names that hold a database's location or credentials, in the conventions services follow.
DATABASE_SETTING = re.compile(
    r"^(?:PG(?:HOST|HOSTADDR|PORT|USER|PASSWORD|DATABASE|SERVICE|SERVICEFILE)"
    r"|POSTGRES(?:QL)?_\w+|\w*DATABASE_(?:URL|URI|DSN|HOST|PORT|NAME|USER|PASSWORD)\w*"
    r"|SQLALCHEMY_DATABASE_\w+|(?:\w+_)?DB_(?:URL|URI|DSN|HOST|PORT|NAME|USER|PASSWORD))$"
)


def placeholders(template: str) -> list[str]:
    """The ``{name}`` placeholders in ``template`` (``{{`` and ``}}`` are literal braces)."""
    return [field for _, field, _, _ in string.Formatter().parse(template) if field is not None]


def unknown_placeholders(template: str) -> list[str]:
    """Placeholders of ``template`` that are not in :data:`URL_PLACEHOLDERS`."""
    return [name for name in placeholders(template) if name not in URL_PLACEHOLDERS]


def url_parts(database_url: str) -> dict[str, str]:
    """The values the placeholders stand for, from a PostgreSQL URL."""
    libpq = to_libpq(database_url)
    parts = urlsplit(libpq)
    return {
        "url": libpq,
        "sqlalchemy_url": to_sqlalchemy(libpq),
        "host": parts.hostname or "",
        "port": str(parts.port or 5432),
        "user": unquote(parts.username or ""),
        "password": unquote(parts.password or ""),
        "database": unquote(parts.path.lstrip("/")),
    }


def database_variables(template: Mapping[str, str], database_url: str) -> dict[str, str]:
    """``template``'s variables with their placeholders filled from ``database_url``."""
    values = url_parts(database_url)
    return {name: pattern.format_map(values) for name, pattern in template.items()}


def service_environment(
    *,
    base: Mapping[str, str],
    database_env: Mapping[str, str] | None,
    extra: Mapping[str, str],
    database_url: str | None,
) -> dict[str, str]:
    """The environment for the service's process: ``base``, then ``extra``, then the database.

    The database variables come last, so neither the caller's environment nor ``service.env``
    can point the service at another database than the one opsctl gave it; and a database
    setting of ``base`` that the wiring does not set (``POSTGRES_HOST`` in a CI job whose
    service reads ``DATABASE_URL``) is left out: it names the caller's database, never opsctl's.
    """
    environment = {**base, **extra}
    if database_url is not None:
        template = DEFAULT_DATABASE_ENV if database_env is None else database_env
        for name in unwired_in(base, set(template) | set(extra)):
            del environment[name]
        environment.update(database_variables(template, database_url))
    return environment


def unwired_in(environment: Mapping[str, str], wired: set[str]) -> list[str]:
    """The database settings of ``environment`` that the wiring (``wired``) does not set."""
    return [name for name in environment if DATABASE_SETTING.match(name) and name not in wired]


def dotenv_files(root: Path) -> list[Path]:
    """``.env`` files a service in ``root`` may read (its folder and the one above it)."""
    candidates = [root / ".env", root.parent / ".env"]
    return [path for path in candidates if path.is_file()]


def dotenv_keys(path: Path) -> list[str]:
    """The variable names a ``.env`` file sets (``KEY=value`` lines, ``export`` allowed)."""
    keys: list[str] = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        text = line.strip()
        if not text or text.startswith("#") or "=" not in text:
            continue
        key = text.partition("=")[0].strip().removeprefix("export ").strip()
        if key:
            keys.append(key)
    return keys


def overridden_dotenv_keys(root: Path, environment: Mapping[str, str]) -> dict[str, list[str]]:
    """For each ``.env`` file near ``root``: which of its keys opsctl's environment overrides.

    Gates report these, so that the user sees that the service's own ``.env`` values were
    replaced for the run (and which ones).
    """
    found: dict[str, list[str]] = {}
    for path in dotenv_files(root):
        keys = [key for key in dotenv_keys(path) if key in environment]
        if keys:
            found[str(path)] = keys
    return found
