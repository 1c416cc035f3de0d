"""`opsctl init --yes` then `opsctl verify` on services of other stacks, unchanged.

Each service has a database of its developer's own (named by its ``.env`` file, or by the
``DATABASE_URL`` of the shell opsctl runs in): after init and verify, no session was opened on
it, and its catalog and rows are as they were.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from tests.opsctl.init.services import (
    REPOSITORY_ROOT,
    copy_service,
    developer_database,
    gate_environment,
    opsctl,
    untouched,
)

pytestmark = pytest.mark.slow


def point_dotenv_at(root: Path, parts: dict[str, str]) -> None:
    """The service's .env names the developer's database (as it does on their machine)."""
    dotenv = root / ".env"
    text = dotenv.read_text(encoding="utf-8")
    for key, part in (
        ("POSTGRES_SERVER", "host"),
        ("POSTGRES_PORT", "port"),
        ("POSTGRES_USER", "user"),
        ("POSTGRES_PASSWORD", "password"),
        ("POSTGRES_DB", "database"),
    ):
        text = re.sub(rf"^{key}=.*$", f"{key}={parts[part]}", text, flags=re.M)
    dotenv.write_text(text, encoding="utf-8")


def verified(root: Path, env: dict[str, str], *gates: str) -> dict[str, dict[str, object]]:
    """Run verify; every gate's JSON result by name (and the exit code must be 0)."""
    report = root / "verify.json"
    done = opsctl(["verify", *gates, "--json", str(report)], cwd=root, env=env)
    results = {gate["gate"]: gate for gate in json.loads(report.read_text())["gates"]}
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:])
    return results


def test_fastapi_sqlmodel_postgres_parts_and_dotenv(
    tmp_path: Path, postgres_server_url: str
) -> None:
    root = copy_service("fastapi_sqlmodel", tmp_path)
    with developer_database(postgres_server_url, "item") as developer:
        point_dotenv_at(root, developer.parts)
        env = gate_environment(postgres_server_url)
        with untouched(developer):
            done = opsctl(["init", "--yes"], cwd=root, env=env)
            assert done.returncode == 0, done.stderr
            assert "app: app.main:app (fastapi)" in done.stdout
            assert "POSTGRES_SERVER" in (root / "opsctl.yaml").read_text()
            done_text = (root / "checks/definition-of-done.yaml").read_text()
            assert 'warn: ["MIG001"]' in done_text
            assert 'omit: ["app/alembic/**"]' in done_text  # the migrations gate's to judge
            results = verified(root, env)
    assert sorted(results) == ["coverage", "load", "migrations", "security"]
    assert {name: r["status"] for name, r in results.items()} == dict.fromkeys(results, "passed")
    coverage = results["coverage"]["details"]
    assert isinstance(coverage, dict)
    assert coverage["database_sessions"] >= 1  # the tests used the throwaway database
    assert "app/alembic/env.py" in coverage["omitted"]["app/alembic/**"]
    assert coverage["dotenv_overridden"]  # and opsctl's values replaced the .env's
    migrations = results["migrations"]
    findings = migrations["findings"]
    assert isinstance(findings, list)
    assert [f["rule"] for f in findings if f["severity"] == "warning"] == ["migrations/MIG001"]
    load = results["load"]
    assert "GET /api/v1/items/" in json.dumps(load)


def test_flask_sqlalchemy_database_url_and_poetry_lock(
    tmp_path: Path, postgres_server_url: str
) -> None:
    root = copy_service("flask_sqlalchemy", tmp_path)
    with developer_database(postgres_server_url, "notes") as developer:
        # the developer's shell exports DATABASE_URL for their own database
        # as its docs tell a developer: production (the default) needs a real JWT_SECRET
        env = {
            **gate_environment(postgres_server_url),
            "DATABASE_URL": developer.url,
            "APP_ENV": "development",
        }
        with untouched(developer):
            done = opsctl(["init", "--yes"], cwd=root, env=env)
            assert done.returncode == 0, done.stderr
            assert "app: notes:create_app (flask)" in done.stdout
            assert "lock: poetry.lock" in done.stdout
            results = verified(root, env)
    assert {name: r["status"] for name, r in results.items()} == {
        "coverage": "passed",
        "security": "passed",
        "migrations": "passed",
        "load": "passed",
    }
    security = results["security"]["details"]
    assert isinstance(security, dict)
    assert security["dependencies"]["audited"] == 13  # every entry of poetry.lock


def test_reference_api_layout_is_found_as_its_own_configuration_says(
    tmp_path: Path, postgres_server_url: str
) -> None:
    root = tmp_path / "reference"
    # what the reference API and its tests use of this repository (its tests read the docs and
    # run a benchmark; tests/conftest.py gives them the PostgreSQL server)
    for part in ("src/reference_api", "tests/reference_api", "loadtests", "docs", "benchmarks"):
        shutil.copytree(REPOSITORY_ROOT / part, root / part)
    for part in ("alembic.ini", "pyproject.toml", "requirements.lock", "tests/conftest.py"):
        shutil.copy(REPOSITORY_ROOT / part, root / part)
    with developer_database(postgres_server_url, "tasks") as developer:
        # as its docs tell a developer: production (the default) needs a real JWT_SECRET
        env = {
            **gate_environment(postgres_server_url),
            "DATABASE_URL": developer.url,
            "APP_ENV": "development",
        }
        with untouched(developer):
            done = opsctl(["init", "--yes"], cwd=root, env=env)
            assert done.returncode == 0, done.stderr
            # its limiter would answer the one-client load run: init says so, and where
            assert "decide rate limits RATE_LIMIT_LOGIN" in done.stdout
            assert "(src/reference_api/config.py): the load run is one client" in done.stdout
            written = (root / "opsctl.yaml").read_text()
            report = root / "verify.json"
            verify = opsctl(["verify", "--json", str(report)], cwd=root, env=env)
    for line in (
        'app: "reference_api.app:create_app"',
        'migrations: "alembic.ini"',
        'metadata: "reference_api.models:metadata"',
        'requirements: "requirements.lock"',
        'source: ["src/reference_api"]',
        'seed: "reference_api.seed:plan"',
    ):
        assert line in written
    assert "database_env" not in written  # it reads DATABASE_URL, opsctl's default
    assert (
        "scenario: loadtests/reference_api.py"
        in (root / "checks/definition-of-done.yaml").read_text()
    )
    results = {gate["gate"]: gate for gate in json.loads(report.read_text())["gates"]}
    statuses = {name: r["status"] for name, r in results.items()}
    # every gate judged; load genuinely fails: the log-in limiter answers the one client
    assert statuses == {
        "coverage": "passed",
        "migrations": "passed",
        "security": "passed",
        "load": "failed",
    }, verify.stdout[-3000:]
    assert verify.returncode == 1
    # the per-address request limit or the password-attempt limit, whichever the run meets first
    assert re.search(r"too many (requests|password attempts)", json.dumps(results["load"]))
