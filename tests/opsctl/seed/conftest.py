"""Fixtures of the seed tests: migrated template databases and a CLI runner on the fixture."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from tests.opsctl.seed.helpers import FIXTURE_ALEMBIC, FIXTURE_CONFIG, database_name, migrate
from typer.testing import CliRunner, Result

from opsctl.database.throwaway import throwaway_database


@pytest.fixture(scope="session")
def fixture_template(postgres_server_url: str) -> Iterator[str]:
    """A database with the fixture service migrated to head (copied per test)."""
    with throwaway_database(postgres_server_url) as url:
        migrate(FIXTURE_ALEMBIC, url)
        yield database_name(url)


@pytest.fixture
def fixture_db(postgres_server_url: str, fixture_template: str) -> Iterator[str]:
    """A fresh copy of the migrated fixture database, for one test."""
    with throwaway_database(postgres_server_url, template=fixture_template) as url:
        yield url


RunCli = Callable[..., Result]


@pytest.fixture
def run_cli(fixture_db: str) -> RunCli:
    """``opsctl --config <fixture> <args>`` in-process, on this test's database."""
    from opsctl.cli import app

    def run(*args: str, env: dict[str, str] | None = None) -> Result:
        environment = {"SEED_TEST_DATABASE_URL": fixture_db, "NO_COLOR": "1", **(env or {})}
        return CliRunner().invoke(
            app, ["--config", str(FIXTURE_CONFIG), *args], env=environment, catch_exceptions=False
        )

    return run
