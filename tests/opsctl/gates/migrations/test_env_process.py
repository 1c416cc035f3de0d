"""The service's env.py runs as it is: stock templates, settings from POSTGRES_* parts, crashes.

Each fixture's env.py is one a real service has (Alembic's and a FastAPI template's: logging
from ``fileConfig``, ``assert config.config_file_name is not None``, an engine built from
pydantic-settings); the gate must migrate the throwaway database it created, keep the
service's logging out of its own output, and name the file and line when env.py crashes.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from tests.opsctl.gates.migrations.conftest import MakeProject, RunGate

from opsctl.database.throwaway import throwaway_database
from opsctl.database.usage import database_activity
from opsctl.gates.interface import Status


def test_stock_env_py_with_fileconfig_and_assert_passes_and_its_logging_stays_out(
    make_project: MakeProject, run_gate: RunGate, capfd: pytest.CaptureFixture[str]
) -> None:
    root = make_project("stock_env")

    result = run_gate(root)

    assert result.status is Status.PASSED, result.summary
    assert result.details["round_tripped"] == 1
    captured = capfd.readouterr()
    # fileConfig ran (it is not switched off): its INFO lines went to the worker, not to us
    assert "[alembic.runtime.migration]" not in captured.out + captured.err


def test_env_py_building_its_url_from_postgres_parts_gets_opsctls_database(
    make_project: MakeProject, run_gate: RunGate, postgres_server_url: str
) -> None:
    root = make_project("settings_env")
    with throwaway_database(postgres_server_url) as developer_url:
        # the developer's database, named by the service's .env: it must stay untouched
        name = developer_url.rsplit("/", 1)[1]
        dotenv = root / ".env"
        dotenv.write_text(
            dotenv.read_text().replace("fixture_developer_database_never_touched", name)
        )
        before = database_activity(developer_url)

        result = run_gate(root)

        after = database_activity(developer_url)
        with psycopg.connect(developer_url) as connection:
            tables = connection.execute(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
            ).fetchone()
    assert result.status is Status.PASSED, result.summary
    assert result.details["round_tripped"] == 1
    assert tables == (0,)
    assert after - before <= 1  # only database_activity's own reading


def test_env_py_ignoring_the_wiring_is_refused(
    make_project: MakeProject, run_gate: RunGate, postgres_server_url: str
) -> None:
    root = make_project("settings_env")
    opsctl_yaml = root / "opsctl.yaml"
    # without database_env, the service reads its .env: opsctl must notice, not pass
    text = opsctl_yaml.read_text()
    opsctl_yaml.write_text(
        text[: text.index("  database_env:")] + text[text.index("definition_of_done") :]
    )
    with throwaway_database(postgres_server_url) as developer_url:
        name = developer_url.rsplit("/", 1)[1]
        dotenv = root / ".env"
        dotenv.write_text(
            dotenv.read_text().replace("fixture_developer_database_never_touched", name)
        )

        result = run_gate(root)

    assert result.status is Status.INCOMPLETE
    assert result.reasons[0].startswith("env.py did not migrate the database opsctl gave it")


def test_a_crash_in_env_py_names_the_file_and_line(
    make_project: MakeProject, run_gate: RunGate
) -> None:
    root = make_project("env_crashes")

    result = run_gate(root)

    assert result.status is Status.INCOMPLETE
    assert result.reasons == [
        "env.py fails before any revision runs: KeyError: 'FIXTURE_SECRET_KEY' "
        "(migrations/env.py:8)"
    ]


def test_service_env_reaches_env_py(make_project: MakeProject, run_gate: RunGate) -> None:
    root = make_project("env_crashes")
    (root / "migrations" / "env.py").write_text(
        (Path(__file__).parents[3] / "fixtures/gates/migrations/_common/migrations/env.py")
        .read_text()
        .replace(
            "config = context.config",
            'config = context.config\nimport os\nassert os.environ["FIXTURE_SECRET_KEY"] == "s3"',
        )
    )
    opsctl_yaml = root / "opsctl.yaml"
    opsctl_yaml.write_text(
        opsctl_yaml.read_text().replace(
            "  metadata: app.models:metadata\n",
            "  metadata: app.models:metadata\n  env:\n    FIXTURE_SECRET_KEY: s3\n",
        )
    )

    result = run_gate(root)

    assert result.status is Status.PASSED, result.summary
