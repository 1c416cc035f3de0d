"""Alembic environment: migrate the database in ``DATABASE_URL``, or an injected connection.

Tools that manage their own connection (pytest-alembic, opsctl's migrations gate) pass it as
``config.attributes["connection"]``; otherwise ``DATABASE_URL`` is read from the environment
and a ``postgresql://`` URL is switched to the psycopg 3 driver.
"""

from __future__ import annotations

import os
from logging.config import fileConfig

import sqlalchemy as sa
from alembic import context

from reference_api.database import to_sqlalchemy_url
from reference_api.models import metadata

config = context.config

# Logging from alembic.ini only when run from the command line, not when a tool injects a
# connection or says it owns logging (``configure_logger = False``, the pytest-alembic convention).
if (
    config.config_file_name is not None
    and "connection" not in config.attributes
    and config.attributes.get("configure_logger", True)
):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise RuntimeError("DATABASE_URL is not set: export the database to migrate")
    return to_sqlalchemy_url(url)


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        compare_server_default=True,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    """Emit the SQL instead of running it (``alembic upgrade head --sql``)."""
    context.configure(
        url=_database_url(),
        target_metadata=metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on the injected connection, or on one to ``DATABASE_URL``."""
    injected = config.attributes.get("connection")
    if injected is not None:
        _run(injected)
        return
    engine = sa.create_engine(_database_url(), poolclass=sa.NullPool)
    try:
        with engine.connect() as connection:
            _run(connection)
            connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
