"""Fixtures every test package shares: a real PostgreSQL server and throwaway databases.

The server is, in order: ``OPSCTL_TEST_POSTGRES_URL`` if set; the PostgreSQL on
127.0.0.1:5432 if it answers (developer machines and CI run one); otherwise an embedded server
from the ``pgserver`` wheel under ``.opsctl/test-postgres`` (a fresh machine with only Python).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from opsctl.database.throwaway import throwaway_database

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
LOCAL_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _answers(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """URL of the ``postgres`` database of a real PostgreSQL server for this test session."""
    explicit = os.environ.get("OPSCTL_TEST_POSTGRES_URL")
    if explicit:
        yield explicit
        return
    if _answers(LOCAL_POSTGRES_URL):
        yield LOCAL_POSTGRES_URL
        return
    import pgserver

    data_dir = REPOSITORY_ROOT / ".opsctl" / "test-postgres"
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(str(data_dir), cleanup_mode="stop")
    yield server.get_uri()


@pytest.fixture
def database_url(postgres_server_url: str) -> Iterator[str]:
    """A fresh, empty database for one test, dropped afterwards (libpq URL)."""
    with throwaway_database(postgres_server_url) as url:
        yield url


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """With ``OPSCTL_TESTS_REQUIRE_ALL=1`` (CI sets it) a skipped test is a failure.

    Tests skip when the machine lacks something (Redis, curl, a second PostgreSQL version); on a
    developer's fresh machine that is fine, but in CI a skip would quietly hide untested code.
    """
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.skipped and os.environ.get("OPSCTL_TESTS_REQUIRE_ALL") == "1":
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped, but OPSCTL_TESTS_REQUIRE_ALL=1 forbids skips: {reason}"
