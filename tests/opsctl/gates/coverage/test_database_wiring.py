"""The coverage gate gives the tests its throwaway database, and checks that they used it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from tests.opsctl.init.services import copy_service, developer_database, untouched

from opsctl.config.project import get_environment, load_project
from opsctl.definition_of_done import load_definition_of_done
from opsctl.errors import OpsctlError, RefusedError
from opsctl.gates.coverage.gate import CoverageGate
from opsctl.gates.coverage.wiring import DATABASE_SETTING, unwired_settings
from opsctl.gates.interface import GateContext, GateError, Status

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "gates" / "coverage"
pytestmark = pytest.mark.slow

ITEMS_CONFIG = """\
service:
  name: items
  source: [app]
  tests: [python, -m, pytest]
{wiring}environments:
  local:
    url: http://127.0.0.1:1
    database_url: ${{FIXTURE_DATABASE_URL}}
"""
PARTS = "  database_env:\n" + "".join(
    f'    POSTGRES_{key}: "{{{part}}}"\n'
    for key, part in (
        ("SERVER", "host"),
        ("PORT", "port"),
        ("USER", "user"),
        ("PASSWORD", "password"),
        ("DB", "database"),
    )
)


def items_service(tmp_path: Path, developer_parts: dict[str, str], *, wiring: str) -> Path:
    """The FastAPI + SQLModel fixture, its .env naming the developer's database."""
    root = copy_service("fastapi_sqlmodel", tmp_path)
    text = (root / ".env").read_text()
    for key, part in (("SERVER", "host"), ("PORT", "port"), ("DB", "database")):
        value = developer_parts[part]
        text = re.sub(rf"^POSTGRES_{key}=.*$", f"POSTGRES_{key}={value}", text, flags=re.M)
    (root / ".env").write_text(text)
    (root / "opsctl.yaml").write_text(ITEMS_CONFIG.format(wiring=wiring))
    (root / "checks").mkdir()
    (root / "checks" / "definition-of-done.yaml").write_text("coverage: {}\n")
    return root


def context_for(root: Path) -> GateContext:
    project = load_project(root / "opsctl.yaml")
    return GateContext(
        project=project,
        definition_of_done=load_definition_of_done(project),
        environment_name="local",
        environment=get_environment(project, "local"),
    )


def test_postgres_parts_in_database_env_reach_the_tests_over_the_dotenv(
    tmp_path: Path, postgres_server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIXTURE_DATABASE_URL", postgres_server_url)
    with developer_database(postgres_server_url, "item") as developer:
        root = items_service(tmp_path, developer.parts, wiring=PARTS)
        with untouched(developer):
            result = CoverageGate().run(context_for(root))
    assert result.status is Status.PASSED, (result.summary, result.reasons)
    assert result.details["database_sessions"] >= 1
    overridden = result.details["dotenv_overridden"]
    assert sorted(overridden[str(root / ".env")]) == [
        "POSTGRES_DB",
        "POSTGRES_PASSWORD",
        "POSTGRES_PORT",
        "POSTGRES_SERVER",
        "POSTGRES_USER",
    ]


def test_a_dotenv_database_the_wiring_does_not_set_stops_the_gate_before_the_tests(
    tmp_path: Path, postgres_server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIXTURE_DATABASE_URL", postgres_server_url)
    with developer_database(postgres_server_url, "item") as developer:
        root = items_service(tmp_path, developer.parts, wiring="")  # DATABASE_URL only
        with untouched(developer), pytest.raises(GateError) as error:
            CoverageGate().run(context_for(root))
    message = str(error.value)
    assert message.startswith("the tests were not run: the service could read its database")
    names = "POSTGRES_SERVER, POSTGRES_PORT, POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB"
    assert f"{names} (in {root / '.env'})" in message


def test_tests_that_never_used_the_throwaway_database_make_the_gate_incomplete(
    tmp_path: Path, postgres_server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "elsewhere"
    shutil.copytree(FIXTURES / "elsewhere", root)
    monkeypatch.setenv("FIXTURE_DATABASE_URL", postgres_server_url)
    with developer_database(postgres_server_url, "store") as other:
        monkeypatch.setenv("FIXTURE_APP_STORE", other.url)
        result = CoverageGate().run(context_for(root))
    assert result.status is Status.INCOMPLETE, (result.summary, result.reasons)
    assert result.details["database_sessions"] == 0
    assert result.reasons[0].startswith("no test connected to the throwaway database")


def test_database_settings_of_opsctls_own_environment_are_not_passed_on(
    tmp_path: Path, postgres_server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(FIXTURES / "passing", tmp_path / "passing")
    monkeypatch.setenv("FIXTURE_DATABASE_URL", postgres_server_url)
    monkeypatch.setenv("PGDATABASE", "developer_data")
    monkeypatch.setenv("POSTGRES_DB", "developer_data")
    result = CoverageGate().run(context_for(tmp_path / "passing"))
    assert result.status is Status.PASSED, (result.summary, result.reasons)
    removed = sorted(result.details["environment_removed"])
    assert removed == ["FIXTURE_DATABASE_URL", "PGDATABASE", "POSTGRES_DB"]


@pytest.mark.parametrize(
    ("name", "is_setting"),
    [
        ("DATABASE_URL", True),
        ("TEST_DATABASE_URL", True),
        ("SQLALCHEMY_DATABASE_URI", True),
        ("POSTGRES_SERVER", True),
        ("PGHOST", True),
        ("DB_HOST", True),
        ("REDIS_DB", False),
        ("SECRET_KEY", False),
        ("PGOPTIONS", False),
    ],
)
def test_which_names_are_database_settings(name: str, is_setting: bool) -> None:
    assert bool(DATABASE_SETTING.match(name)) is is_setting


def test_unwired_settings_are_named_per_file() -> None:
    found = unwired_settings({"POSTGRES_DB"}, {"/s/.env": ["POSTGRES_DB", "POSTGRES_HOST", "X"]})
    assert found == ["POSTGRES_HOST (in /s/.env)"]


@pytest.mark.parametrize("migrate", [True, False])
def test_coverage_migrate_gives_tests_that_expect_a_schema_the_migrated_database(
    tmp_path: Path, postgres_server_url: str, monkeypatch: pytest.MonkeyPatch, migrate: bool
) -> None:
    monkeypatch.setenv("FIXTURE_DATABASE_URL", postgres_server_url)
    with developer_database(postgres_server_url, "item") as developer:
        root = items_service(
            tmp_path, developer.parts, wiring=PARTS + '  migrations: "alembic.ini"\n'
        )
        conftest = root / "app" / "tests" / "conftest.py"
        # as in the template this fixture mimics: the tests expect `alembic upgrade head` done
        conftest.write_text(
            conftest.read_text().replace("SQLModel.metadata.create_all(engine)", "pass")
        )
        (root / "checks" / "definition-of-done.yaml").write_text(
            f"coverage: {{migrate: {str(migrate).lower()}}}\n"
        )
        with untouched(developer):
            result = CoverageGate().run(context_for(root))
    if migrate:
        assert result.status is Status.PASSED, (result.summary, result.reasons, result.findings)
    else:
        assert result.status is Status.FAILED
        assert result.details["failing_tests"]


def test_the_callers_database_settings_never_reach_the_migrations_of_coverage_migrate(
    tmp_path: Path, postgres_server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a CI job exports POSTGRES_* for its own database; the service's env.py reads them, but
    # opsctl.yaml wires only DATABASE_URL (the default): the migration must not reach that job's
    # database before the tests' checks ever run
    monkeypatch.setenv("FIXTURE_DATABASE_URL", postgres_server_url)
    with developer_database(postgres_server_url, "item") as developer:
        root = items_service(tmp_path, developer.parts, wiring='  migrations: "alembic.ini"\n')
        dotenv = root / ".env"
        dotenv.write_text(
            "".join(
                line + "\n"
                for line in dotenv.read_text().splitlines()
                if not line.startswith("POSTGRES_")
            )
        )
        parts = developer.parts
        for key, part in (
            ("SERVER", "host"),
            ("PORT", "port"),
            ("USER", "user"),
            ("DB", "database"),
        ):
            monkeypatch.setenv(f"POSTGRES_{key}", parts[part])
        (root / "checks" / "definition-of-done.yaml").write_text("coverage: {migrate: true}\n")
        with untouched(developer), pytest.raises(OpsctlError) as error:
            CoverageGate().run(context_for(root))
    assert "migrations failed" in str(error.value) or "another database" in str(error.value)


def test_a_protected_environment_is_refused_before_any_test_runs(
    tmp_path: Path, postgres_server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the tests would run against a throwaway database on that server, beside its data
    root = tmp_path / "elsewhere"
    shutil.copytree(FIXTURES / "elsewhere", root)
    config = root / "opsctl.yaml"
    text = config.read_text()
    assert "  local:\n" in text
    config.write_text(text.replace("  local:\n", "  local:\n    protected: true\n", 1))
    monkeypatch.setenv("FIXTURE_DATABASE_URL", postgres_server_url)
    with pytest.raises(RefusedError, match="protected environment's server"):
        CoverageGate().run(context_for(root))
