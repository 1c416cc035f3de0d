"""Fixtures of the reference API's tests: one migrated database per session, emptied between
tests, and the app running in-process with cheap password hashing.

The database: ``DATABASE_URL`` when set (opsctl's coverage gate points it at a throwaway
database it created), otherwise a throwaway database on the ``postgres_server_url`` server.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from tests.reference_api.helpers import (
    TEST_ENVIRONMENT,
    Api,
    ContextFactory,
    build_state,
    running_api,
)

from opsctl.database.throwaway import throwaway_database
from reference_api.config import Settings
from reference_api.context import RequestContext
from reference_api.database import to_sqlalchemy_url
from reference_api.middleware.request_context import RequestInfo
from reference_api.models import metadata
from reference_api.state import AppState

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]


def alembic_config() -> Config:
    return Config(str(REPOSITORY_ROOT / "alembic.ini"))


def migrate(database_url: str, revision: str = "head") -> None:
    """``alembic upgrade`` on ``database_url`` through an injected connection."""
    engine = sa.create_engine(to_sqlalchemy_url(database_url), poolclass=sa.NullPool)
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def api_database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A database migrated to head, for the whole session."""
    explicit = os.environ.get("DATABASE_URL")
    if explicit:
        migrate(explicit)
        yield explicit
        return
    server_url: str = request.getfixturevalue("postgres_server_url")
    with throwaway_database(server_url) as url:
        migrate(url)
        yield url


@pytest.fixture
def clean_database(api_database_url: str) -> str:
    """Empty every table (tests see no one else's rows)."""
    tables = ", ".join(table.name for table in metadata.sorted_tables)
    engine = sa.create_engine(to_sqlalchemy_url(api_database_url), poolclass=sa.NullPool)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(f"TRUNCATE {tables} CASCADE"))
    finally:
        engine.dispose()
    return api_database_url


def make_settings(database_url: str, **overrides: Any) -> Settings:
    environment = {**TEST_ENVIRONMENT, "DATABASE_URL": database_url}
    environment.update({key: str(value) for key, value in overrides.items()})
    return Settings.from_environ(environment)


@pytest.fixture
def settings(clean_database: str) -> Settings:
    return make_settings(clean_database)


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[Api]:
    async with running_api(settings) as client:
        yield client


@pytest.fixture
async def state(settings: Settings) -> AsyncIterator[AppState]:
    app_state = build_state(settings)
    yield app_state
    await app_state.engine.dispose()


@pytest.fixture
def context_for(state: AppState) -> ContextFactory:
    """A fresh request context (new loaders) for a viewer, like one request would get."""

    def make(viewer_id: uuid.UUID | None) -> RequestContext:
        info = RequestInfo(request_id="test", client_ip="127.0.0.1", viewer_id=viewer_id)
        return RequestContext.create(state, info)

    return make
