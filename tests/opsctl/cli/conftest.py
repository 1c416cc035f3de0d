"""Fixtures for CLI tests."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.opsctl.cli.helpers import LOCAL_SERVICE

from opsctl.database.embedded import EmbeddedServer
from opsctl.errors import DatabaseError


@pytest.fixture
def service_project() -> Iterator[Path]:
    """A private copy of the fixture service, its .opsctl/ state included.

    Not under pytest's tmp_path: as root the embedded server runs as another user that must
    traverse the parent folders, and every pytest session resets /tmp/pytest-of-root to 0700
    (concurrent sessions would lock the server out of its data mid-test).
    """
    base = Path(tempfile.mkdtemp(prefix="opsctl-test-"))
    target = base / "service"
    shutil.copytree(LOCAL_SERVICE, target, ignore=shutil.ignore_patterns("__pycache__", ".opsctl"))
    try:
        yield target
    finally:
        with contextlib.suppress(DatabaseError):
            EmbeddedServer(target / ".opsctl" / "postgres").stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests decide which variables opsctl sees."""
    for name in ("DATABASE_URL", "REDIS_URL", "OPSCTL_CONFIG", "OPSCTL_ENV", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
