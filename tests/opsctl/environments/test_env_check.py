"""``opsctl env check`` against a real service (the fixture app under uvicorn), a real
PostgreSQL database migrated with Alembic, and the real Redis."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from tests.opsctl.cli.helpers import LOCAL_SERVICE, free_port, invoke

from opsctl.config.project import load_project
from opsctl.database.migrations import alembic_config, upgrade_to_head

CONFIG = str(LOCAL_SERVICE / "opsctl.yaml")
INI = LOCAL_SERVICE / "alembic.ini"
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def service_port(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """The fixture service served on a free loopback port, reading ``database_url``."""
    import importlib.util

    monkeypatch.setenv("DATABASE_URL", database_url)
    spec = importlib.util.spec_from_file_location(
        "fixture_service", LOCAL_SERVICE / "fixture_service.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(module.create_app(), host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield port
    server.should_exit = True
    thread.join(timeout=10)


def _check(port: int, database_url: str, redis_url: str = REDIS_URL) -> tuple[int, str]:
    result = invoke(
        ["--config", CONFIG, "env", "check", "local", "--timeout", "3"],
        env={"FIXTURE_PORT": str(port), "DATABASE_URL": database_url, "REDIS_URL": redis_url},
    )
    return result.exit_code, result.stdout


def test_healthy_environment(database_url: str, service_port: int) -> None:
    upgrade_to_head(load_project(Path(CONFIG)), INI, database_url)

    code, output = _check(service_port, database_url)

    assert code == 0, output
    assert "local: healthy" in output
    for line in ("http /healthz", "http /readyz", "database", "migrations", "redis"):
        row = next(row for row in output.splitlines() if row.startswith(f"│ {line} "))
        assert " ok " in row and " ms " in row
    assert "at head 0002" in output


def test_migrations_behind_head_are_unhealthy(database_url: str, service_port: int) -> None:
    from alembic import command

    command.upgrade(alembic_config(INI, database_url), "0001")

    code, output = _check(service_port, database_url)

    assert code == 3
    assert "at 0001, repository head is 0002" in output
    assert "local: unhealthy (1 of 5 checks failed: migrations)" in output


def test_not_ready_service_and_empty_database(database_url: str, service_port: int) -> None:
    code, output = _check(service_port, database_url, redis_url="")

    assert code == 3
    assert "HTTP 503" in output  # /readyz: the items table does not exist yet
    assert "no migrations applied" in output
    assert "no redis_url" in output


def test_secrets_never_shown(database_url: str, service_port: int) -> None:
    upgrade_to_head(load_project(Path(CONFIG)), INI, database_url)
    with_password = database_url.replace("postgres@", "postgres:pw-not-needed@")

    _code, output = _check(service_port, with_password, "redis://:redis-pw@127.0.0.1:6379/0")

    assert "pw-not-needed" not in output
    assert "redis-pw" not in output
    assert "postgres:***@" in output.replace("\n", "")


def test_env_list_shows_hosts_not_secrets() -> None:
    result = invoke(["--config", CONFIG, "env", "list"])

    assert result.exit_code == 0
    assert "db.example.invalid:5432" in result.stdout
    assert "s3cret-pw" not in result.stdout
    production = next(line for line in result.stdout.splitlines() if "production" in line)
    assert "yes" in production


def test_ini_paths_do_not_depend_on_the_cwd(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from opsctl.database.migrations import repository_heads

    monkeypatch.chdir(tmp_path)

    assert repository_heads(INI) == ("0002",)
