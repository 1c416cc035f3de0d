"""The service's Alembic migrations, driven through Alembic's API (``service.migrations``).

Alembic and SQLAlchemy are imported inside the functions: importing this module stays cheap.
"""

from __future__ import annotations

import os
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


def upgrade_to_head(ini: Path, database_url: str) -> None:
    """Run every pending migration on ``database_url``.

    ``DATABASE_URL`` is also set for the run: most ``env.py`` files read it rather than
    ``sqlalchemy.url``.
    """
    from alembic import command
    from alembic.util import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    previous = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = database_url
    try:
        command.upgrade(alembic_config(ini, database_url), "heads")
    except CommandError as error:
        raise DatabaseError(f"migrations failed: {error}") from None
    except SQLAlchemyError as error:
        from opsctl.output.masking import mask_text

        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DatabaseError(f"migrations failed: {mask_text(first)}") from None
    finally:
        if previous is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = previous
