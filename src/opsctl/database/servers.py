"""Which PostgreSQL server and database an environment uses.

Two URLs per environment, never confused:

* :func:`server_admin_url`: the ``postgres`` database of the environment's server. Checks create
  their throwaway databases there (``opsctl.database.throwaway``), never touching data.
* :func:`environment_database_url`: the database that holds the environment's DATA (what the
  service connects to). For ``embedded`` it is a database named after the service on the
  embedded server, created on demand.

Taking a server also sweeps throwaway databases left behind by crashed runs.
"""

from __future__ import annotations

import re

from opsctl.config.models import EMBEDDED, EnvironmentConfig, LoadedProject
from opsctl.errors import ConfigError, RefusedError


def server_admin_url(project: LoadedProject, environment: EnvironmentConfig) -> str:
    """A URL to the ``postgres`` database of the environment's server (starting the embedded
    server when the environment says ``embedded``). Checks create throwaway databases there.

    Refused for a protected environment: a check would create databases on that server and
    run the service's migrations or tests there, next to its data.
    """
    if environment.protected:
        raise RefusedError(
            "refusing to create throwaway databases on a protected environment's server",
            hint="checks that need a database run on local or a staging environment",
        )
    url = _configured_url(project, environment)
    if url == EMBEDDED:
        from opsctl.database.embedded import EmbeddedServer

        admin = EmbeddedServer.for_project(project).ensure_started().admin_url
    else:
        from opsctl.database.urls import to_libpq, with_database

        admin = with_database(to_libpq(url), "postgres")
    _sweep_quietly(admin)
    return admin


def environment_database_url(project: LoadedProject, environment: EnvironmentConfig) -> str:
    """The libpq URL of the environment's DATA database (the embedded one created on demand)."""
    url = _configured_url(project, environment)
    if url == EMBEDDED:
        from opsctl.database.embedded import EmbeddedServer

        return EmbeddedServer.for_project(project).ensure_database(
            data_database_name(project.config.service.name)
        )
    from opsctl.database.urls import to_libpq

    return to_libpq(url)


def data_database_name(service_name: str) -> str:
    """The embedded data database's name: the service name as a PostgreSQL identifier."""
    name = re.sub(r"[^a-z0-9_]+", "_", service_name.lower()).strip("_") or "service"
    if name[0].isdigit():
        name = f"db_{name}"
    return name[:63]


def _configured_url(project: LoadedProject, environment: EnvironmentConfig) -> str:
    if environment.database_url is None or not environment.database_url.get_secret_value():
        raise ConfigError(
            "the environment has no database_url",
            file=project.path.name,
            hint="set database_url (a PostgreSQL URL, or 'embedded') for this environment",
        )
    return environment.database_url.get_secret_value()


def _sweep_quietly(admin_url: str) -> None:
    """Drop stale throwaway databases; a failed sweep must not stop the command that follows."""
    from opsctl.database.throwaway import sweep_stale_databases
    from opsctl.errors import DatabaseError

    try:
        sweep_stale_databases(admin_url)
    except DatabaseError:
        # unreachable server: the command's own connection reports it with a better message
        return
