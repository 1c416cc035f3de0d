"""The reference API's four runbooks against a running local environment: the API under uvicorn
on a free loopback port, a migrated throwaway database, and the shared Redis."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from typer.testing import CliRunner

from opsctl.cli import app
from opsctl.database.throwaway import throwaway_database

from .conftest import REPO

pytestmark = pytest.mark.slow

REDIS_URL = "redis://127.0.0.1:6379/0"
DB_PASSWORD = "pw-runbook-7731"
EXTRA_MIGRATION = '''"""A migration deployed ahead of the code: migration-rollback undoes it."""
import sqlalchemy as sa
from alembic import op

revision = "0002_runbook_probe"
down_revision = "0001"


def upgrade() -> None:
    op.create_table("runbook_probe", sa.Column("id", sa.Integer, primary_key=True))


def downgrade() -> None:
    op.drop_table("runbook_probe")
'''


@dataclass
class Environment:
    root: Path
    url: str
    database_url: str
    alembic_env: dict[str, str]

    def invoke(self, *args: str, input: str | None = None) -> Any:
        env = {"NO_COLOR": "1", "COLUMNS": "200"}
        config = str(self.root / "opsctl.yaml")
        return CliRunner().invoke(app, ["--config", config, *args], input=input, env=env)

    def graphql(self, query: str, variables: dict[str, Any], operation: str) -> dict[str, Any]:
        body = {"query": query, "variables": variables, "operationName": operation}
        response = httpx.post(f"{self.url}/graphql", json=body, timeout=10)
        payload: dict[str, Any] = response.json()
        return payload


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def _alembic(args: list[str], env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "alembic", *args],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def environment(
    postgres_server_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Environment]:
    root = tmp_path_factory.mktemp("reference-service")
    shutil.copytree(REPO / "runbooks", root / "runbooks")
    versions = root / "extra-versions"
    versions.mkdir()
    (versions / "0002_runbook_probe.py").write_text(EXTRA_MIGRATION)
    migrations = REPO / "src" / "reference_api" / "migrations"
    # the repository's alembic.ini (logging sections included) plus a second versions folder
    config = (REPO / "alembic.ini").read_text()
    config = config.replace("%(here)s/src", str(REPO / "src")).replace(
        "prepend_sys_path = src", f"prepend_sys_path = {REPO / 'src'}"
    )
    config = config.replace(
        "[alembic]\n",
        f"[alembic]\nversion_locations = {migrations / 'versions'}{os.pathsep}{versions}\n",
        1,
    )
    (root / "alembic-extra.ini").write_text(config)
    redis = REDIS_URL if _redis_answers() else None
    with throwaway_database(postgres_server_url) as database_url:
        alembic_env = {**os.environ, "DATABASE_URL": database_url}
        _alembic(["-c", "alembic.ini", "upgrade", "head"], alembic_env)
        port = _free_port()
        api_env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "APP_ENV": "development",
            "JWT_SECRET": "runbook-tests-" + "x" * 32,
            "ARGON2_TIME_COST": "1",
            "ARGON2_MEMORY_COST_KIB": "8192",
            "ARGON2_PARALLELISM": "1",
            "REDIS_KEY_PREFIX": "opsctl-runbook-tests:",
            "LOG_LEVEL": "WARNING",
        }
        if redis:
            api_env["REDIS_URL"] = redis
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "reference_api.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            cwd=REPO,
            env=api_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(url, server)
            # trust authentication ignores the password: it is there to prove it is masked
            with_password = database_url.replace("postgres@", f"postgres:{DB_PASSWORD}@", 1)
            lines = [
                "service:",
                "  name: reference-api",
                "environments:",
                "  local:",
                f"    url: {url}",
                f"    database_url: {with_password}",
            ]
            if redis:
                lines.append(f"    redis_url: {redis}")
            (root / "opsctl.yaml").write_text("\n".join(lines) + "\n")
            yield Environment(root, url, database_url, alembic_env)
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            if server.stderr is not None:
                server.stderr.close()


def _wait_until_up(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            stderr = server.stderr.read().decode() if server.stderr else ""
            raise AssertionError(f"the reference API exited: {stderr[-2000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("the reference API did not start within 30 s")


SIGN_UP = """mutation SignUp($input: SignUpInput!) {
  signUp(input: $input) { refreshToken user { id } } }"""
LOG_IN = """mutation LogIn($input: LogInInput!) { logIn(input: $input) { refreshToken } }"""
REFRESH = """mutation Refresh($t: String!) { refreshToken(refreshToken: $t) { refreshToken } }"""


def test_all_four_reference_runbooks_are_valid(environment: Environment) -> None:
    result = environment.invoke("runbook", "validate")
    assert result.exit_code == 0, result.output
    for name in (
        "api-latency-high",
        "revoke-user-sessions",
        "migration-rollback",
        "db-connection-saturation",
    ):
        assert f"✓ runbooks/{name}.yaml" in result.output
    shown = environment.invoke(
        "runbook", "show", "revoke-user-sessions", "-p", "email=ada@example.test"
    )
    assert shown.exit_code == 0, shown.output
    assert "binds={'email': 'ada@example.test'}" in shown.output  # rendered with the parameter
    revoke_row = next(line for line in shown.output.splitlines() if "│ revoke " in line)
    assert "yes" in revoke_row  # marked as mutating


def test_revoke_user_sessions(environment: Environment) -> None:
    email, password = "ada@example.test", "correct horse battery"
    signed = environment.graphql(
        SIGN_UP, {"input": {"email": email, "password": password, "name": "Ada"}}, "SignUp"
    )
    assert "errors" not in signed, signed
    tokens = [signed["data"]["signUp"]["refreshToken"]]
    for _ in range(2):
        logged = environment.graphql(
            LOG_IN, {"input": {"email": email, "password": password}}, "LogIn"
        )
        tokens.append(logged["data"]["logIn"]["refreshToken"])
    # the dry run counts, shows the guarded UPDATE, changes nothing
    dry = environment.invoke(
        "runbook", "run", "revoke-user-sessions", "-p", "email=ADA@example.test", "--dry-run"
    )
    assert dry.exit_code == 0, dry.output
    assert "expect_rows_affected=3" in dry.output
    assert _active_tokens(environment.database_url) == 3
    result = environment.invoke(
        "runbook",
        "run",
        "revoke-user-sessions",
        "-p",
        "email=ADA@example.test",
        "--reason",
        "INC-7 lost laptop",
        input="y\n",
    )
    assert result.exit_code == 0, result.output
    assert "Revoke 3 active refresh token(s) of ADA@example.test in local?" in result.output
    assert _active_tokens(environment.database_url) == 0
    refreshed = environment.graphql(REFRESH, {"t": tokens[-1]}, "Refresh")
    assert refreshed.get("errors"), refreshed  # the API no longer accepts the token
    unknown = environment.invoke(
        "runbook", "run", "revoke-user-sessions", "-p", "email=nobody@example.test"
    )
    assert unknown.exit_code == 1
    assert "assertion failed: result.rows | length == 1" in unknown.output


def _active_tokens(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM refresh_tokens WHERE revoked_at IS NULL AND expires_at > now()"
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_api_latency_high(environment: Environment) -> None:
    environment.graphql(
        LOG_IN, {"input": {"email": "x@example.test", "password": "p" * 8}}, "LogIn"
    )
    with psycopg.connect(environment.database_url) as slow:
        slow.execute("SET application_name = 'runbook-test-slow'")
        cursor = slow.cursor()
        # a statement still running while the runbook looks (cancelled by its own timeout)
        slow.execute("SET statement_timeout = '3s'")
        runner = _run_later(cursor, "SELECT pg_sleep(2)")
        time.sleep(0.3)
        result = environment.invoke(
            "runbook", "run", "api-latency-high", "--reason", "alert", input="y\n"
        )
        runner.join()
    assert result.exit_code == 0, result.output
    assert "P95 LogIn:" in result.output
    assert "SELECT pg_sleep(2)" in result.output  # the running query is listed
    assert "Database sessions:" in result.output
    if _redis_answers():
        assert "Redis answers." in result.output
    history = environment.invoke("runbook", "history")
    assert "api-latency-high" in history.output and "succeeded" in history.output
    run_id = next((environment.root / ".opsctl" / "runs").glob("*api-latency-high*")).stem
    log = environment.invoke("runbook", "log", run_id)
    assert log.exit_code == 0 and "advice" in log.output and "slow_queries" in log.output


def _run_later(cursor: psycopg.Cursor[Any], query: str) -> Any:
    import threading

    thread = threading.Thread(target=cursor.execute, args=(query,))
    thread.start()
    return thread


def test_db_connection_saturation_terminates_the_chosen_session(
    environment: Environment,
) -> None:
    stuck = psycopg.connect(environment.database_url)
    bystander = psycopg.connect(environment.database_url)
    try:
        stuck.execute("SELECT 1")  # opens a transaction and leaves it idle
        bystander.execute("SELECT 1")
        pid, other = stuck.info.backend_pid, bystander.info.backend_pid
        time.sleep(0.2)
        result = environment.invoke(
            "runbook",
            "run",
            "db-connection-saturation",
            "-p",
            "idle_for=0s",
            input=f"{pid}\ny\n",
        )
        assert result.exit_code == 0, result.output
        assert f"pid {pid}" in result.output and f"pid {other}" in result.output
        with pytest.raises(psycopg.OperationalError):
            stuck.execute("SELECT 1")
        bystander.execute("SELECT 1")  # the session not chosen is untouched
        # a pid that was not listed is refused before anything is terminated
        refused = environment.invoke(
            "runbook", "run", "db-connection-saturation", "-p", "idle_for=0s", input="1\n"
        )
        assert refused.exit_code == 1 and "assertion failed" in refused.output
    finally:
        stuck.close()
        bystander.close()


def test_migration_rollback(environment: Environment) -> None:
    extra = ["-c", str(environment.root / "alembic-extra.ini")]
    _alembic([*extra, "upgrade", "heads"], environment.alembic_env)
    assert httpx.get(f"{environment.url}/readyz", timeout=5).status_code == 503
    config = f"alembic_config={environment.root / 'alembic-extra.ini'}"
    dry = environment.invoke("runbook", "run", "migration-rollback", "-p", config, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "run ['python', '-m', 'alembic', 'downgrade', '-1']" in dry.output
    assert "it waits for the effect of a simulated step" in dry.output
    with psycopg.connect(environment.database_url) as conn:
        still = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    assert still == ("0002_runbook_probe",)  # the dry run downgraded nothing
    result = environment.invoke(
        "runbook",
        "run",
        "migration-rollback",
        "-p",
        f"alembic_config={environment.root / 'alembic-extra.ini'}",
        input="y\n",
    )
    assert result.exit_code == 0, result.output
    assert "Downgrade local from 0002_runbook_probe to 0001?" in result.output
    assert httpx.get(f"{environment.url}/readyz", timeout=5).status_code == 200
    with psycopg.connect(environment.database_url) as conn:
        version = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        probe = conn.execute("SELECT to_regclass('runbook_probe')").fetchone()
    assert version == ("0001",) and probe == (None,)
    record = environment.root / ".opsctl" / "runs"
    text = "".join(p.read_text() for p in record.glob("*migration-rollback*.jsonl"))
    assert "DATABASE_URL" in text  # the command got it (as an environment variable)...
    assert DB_PASSWORD not in text and DB_PASSWORD not in result.output  # ...masked
