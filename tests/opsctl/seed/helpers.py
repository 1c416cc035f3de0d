"""Helpers of the seed tests: fixture paths, migrations, row counts and dumps."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg

from opsctl.database.urls import to_sqlalchemy

REPOSITORY = Path(__file__).resolve().parents[3]
FIXTURE = REPOSITORY / "tests" / "fixtures" / "seed" / "basic"
FIXTURE_CONFIG = FIXTURE / "opsctl.yaml"
FIXTURE_ALEMBIC = FIXTURE / "alembic.ini"
FIXTURE_TABLES = ("owners", "items", "tags")


def migrate(alembic_ini: Path, url: str, revision: str = "head") -> None:
    """Run a project's migrations on ``url`` through an injected connection."""
    import sqlalchemy as sa
    from alembic import command
    from alembic.config import Config

    config = Config(str(alembic_ini))
    location = config.get_main_option("script_location") or "migrations"
    if not Path(location).is_absolute():
        config.set_main_option("script_location", str(alembic_ini.parent / location))
    config.set_main_option("sqlalchemy.url", url)
    engine = sa.create_engine(to_sqlalchemy(url))
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def database_name(url: str) -> str:
    return url.rsplit("/", 1)[-1]


def counts(url: str, tables: tuple[str, ...] = FIXTURE_TABLES) -> dict[str, int]:
    with psycopg.connect(url) as connection:
        return {
            table: int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]
            for table in tables
        }


def dump(url: str, tables: tuple[str, ...] = FIXTURE_TABLES) -> dict[str, list[tuple[object, ...]]]:
    with psycopg.connect(url) as connection:
        return {
            table: connection.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()
            for table in tables
        }


def subprocess_env(url: str) -> dict[str, str]:
    return {**os.environ, "SEED_TEST_DATABASE_URL": url, "NO_COLOR": "1"}
