"""Fixture services for `opsctl init` tests, and the developer database they must not touch."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from opsctl.config.service_wiring import url_parts
from opsctl.database.throwaway import throwaway_database
from opsctl.database.usage import database_activity

REPOSITORY_ROOT = Path(__file__).resolve().parents[3]
SERVICES = REPOSITORY_ROOT / "tests" / "fixtures" / "services"
ADVISORIES = REPOSITORY_ROOT / "tests" / "fixtures" / "gates" / "security" / "advisories"


def copy_service(name: str, target: Path) -> Path:
    root = target / name
    shutil.copytree(SERVICES / name, root)
    return root


def opsctl(
    args: list[str], *, cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """``opsctl ARGS`` as a real process in ``cwd``."""
    return subprocess.run(
        [sys.executable, "-m", "opsctl", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        check=False,
    )


def gate_environment(server_url: str) -> dict[str, str]:
    """What CI gives `opsctl verify`: the test server, the fixture advisories, a short load run."""
    return {
        "OPSCTL_DATABASE_URL": server_url,
        "OPSCTL_ADVISORY_DB": str(ADVISORIES),
        "OPSCTL_MAX_ADVISORY_AGE_DAYS": "100000",
        "OPSCTL_LOAD_RATE": "40",
        "OPSCTL_LOAD_DURATION": "10s",
    }


@dataclass
class DeveloperDatabase:
    """A database with the developer's own data: its catalog, rows and sessions are watched."""

    url: str
    table: str

    @property
    def parts(self) -> dict[str, str]:
        return url_parts(self.url)

    def state(self) -> tuple[list[Any], int]:
        with psycopg.connect(self.url, autocommit=True) as conn:
            catalog = conn.execute(
                "SELECT table_name, column_name, data_type FROM information_schema.columns"
                " WHERE table_schema = 'public' ORDER BY 1, 2"
            ).fetchall()
            rows = conn.execute(f"SELECT count(*) FROM {self.table}").fetchone()
        return catalog, int(rows[0]) if rows else -1


@contextmanager
def developer_database(server_url: str, table: str) -> Iterator[DeveloperDatabase]:
    """A database named like a developer's, holding ``table`` with three rows of their own."""
    with throwaway_database(server_url) as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"CREATE TABLE {table} (id integer PRIMARY KEY, title text)")
            conn.execute(f"INSERT INTO {table} VALUES (1, 'mine'), (2, 'also'), (3, 'keep')")
        yield DeveloperDatabase(url, table)


@contextmanager
def untouched(database: DeveloperDatabase) -> Iterator[None]:
    """Assert that nothing connected to ``database`` or changed it while the block ran."""
    before = database.state()
    sessions = database_activity(database.url)
    yield
    # this reading's own session only (the state() below comes after it)
    assert database_activity(database.url) - sessions == 1, "something connected to it"
    assert database.state() == before
