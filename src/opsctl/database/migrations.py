"""The service's Alembic migrations, driven through Alembic's API (``service.migrations``).

Alembic and SQLAlchemy are imported inside the functions: importing this module stays cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from opsctl.errors import ConfigError, DatabaseError

if TYPE_CHECKING:
    from alembic.config import Config

    from opsctl.config.models import LoadedProject


def alembic_ini(project: LoadedProject) -> Path | None:
    """The Alembic config file named by ``service.migrations`` (None when there is none)."""
    relative = project.config.service.migrations
    if relative is None:
        return None
    path = project.resolve(relative)
    if not path.is_file():
        raise ConfigError(
            f"Alembic config {relative} not found ({path})",
            file=project.path.name,
            key="service.migrations",
        )
    return path


def alembic_config(ini: Path, database_url: str | None = None) -> Config:
    """An Alembic ``Config`` for ``ini`` whose paths do not depend on the current directory."""
    from alembic.config import Config

    config = Config(str(ini))
    # opsctl reports progress itself: env.py should not configure logging from alembic.ini
    config.attributes["configure_logger"] = False
    location = config.get_main_option("script_location")
    if location and ":" not in location and not Path(location).is_absolute():
        # a plain relative script_location is relative to the ini file, whatever the cwd
        config.set_main_option("script_location", str(ini.parent / location))
    if database_url is not None:
        from opsctl.database.urls import to_sqlalchemy

        # ConfigParser interpolation: a literal '%' must be doubled
        config.set_main_option("sqlalchemy.url", to_sqlalchemy(database_url).replace("%", "%%"))
    return config


def repository_heads(ini: Path) -> tuple[str, ...]:
    """The head revisions of the migration scripts in the repository."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    try:
        return tuple(ScriptDirectory.from_config(alembic_config(ini)).get_heads())
    except CommandError as error:
        raise ConfigError(f"cannot read migrations: {error}", file=str(ini)) from None


_VERSIONS = "SELECT version_num FROM alembic_version"


def upgrade_to_head(project: LoadedProject, ini: Path, database_url: str) -> None:
    """Run every pending migration on ``database_url``, through the service's own ``env.py``.

    The migrations run in a child process with the service's wiring (``service.database_env``
    and ``service.env``), as the migrations gate runs them: an ``env.py`` that builds its URL
    from settings gets ``database_url`` that way. Afterwards the version table of
    ``database_url`` must be at the heads: an ``env.py`` that migrated another database is an
    error, never a silent success.
    """
    import sqlalchemy as sa

    from opsctl.database.urls import to_sqlalchemy
    from opsctl.gates.migrations.alembic_env import AlembicProject
    from opsctl.gates.migrations.env_process import StepError
    from opsctl.output.masking import mask_text

    service = project.config.service
    alembic = AlembicProject(ini, database_env=service.database_env, service_env=service.env)
    heads = set(alembic.script.get_heads())
    fix = "set service.database_env in opsctl.yaml to the variables its settings read"
    engine = sa.create_engine(to_sqlalchemy(database_url), poolclass=sa.pool.NullPool)
    try:
        with alembic.runner(project.root, database_url) as runner:
            # env.py with no revision to run only makes its version table: if that did not
            # land in opsctl's database, no migration may run on whatever env.py reached
            runner.prepare()
            with engine.connect() as connection:
                if not alembic.has_version_table(connection):
                    raise DatabaseError(
                        f"env.py connects to another database than the one opsctl gave it: {fix}"
                    )
            runner.upgrade("heads")
        with engine.connect() as connection:
            found = set(connection.exec_driver_sql(_VERSIONS).scalars())
    except StepError as error:
        raise DatabaseError(f"migrations failed: {mask_text(error.described)}") from None
    except sa.exc.SQLAlchemyError as error:
        message = mask_text(str(error).splitlines()[0])
        raise DatabaseError(f"could not read the version table: {message}") from None
    finally:
        engine.dispose()
    if found != heads:
        raise DatabaseError(
            "env.py did not migrate the database opsctl gave it (its version table holds "
            f"{sorted(found) or 'nothing'}, not the heads {sorted(heads)}): {fix}"
        )
