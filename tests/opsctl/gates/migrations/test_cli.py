"""``opsctl verify migrations`` end to end: exit codes and the JSON report (docs examples)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from opsctl.cli import app

MakeProject = Callable[..., Path]


def verify(root: Path, server_url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        app,
        ["--config", str(root / "opsctl.yaml"), "verify", "migrations", *args],
        env={"FIXTURE_DATABASE_URL": server_url},
        catch_exceptions=False,
    )
    return result.exit_code, result.output


def test_verify_migrations_passes(make_project: MakeProject, postgres_server_url: str) -> None:
    code, output = verify(make_project("_common_only"), postgres_server_url)

    assert code == 0, output
    assert "migrations" in output and "passed" in output


def test_verify_migrations_json_names_revision_file_and_line(
    make_project: MakeProject, postgres_server_url: str, tmp_path: Path
) -> None:
    report = tmp_path / "verify.json"

    code, output = verify(
        make_project("index_if_not_exists"), postgres_server_url, "--json", str(report)
    )

    assert code == 1, output
    [gate] = json.loads(report.read_text())["gates"]
    assert gate["status"] == "failed"
    [finding] = [f for f in gate["findings"] if f["severity"] == "error"]
    assert finding["message"] == "after downgrading 0002, index ix_tasks_due on tasks still exists"
    assert (finding["file"], finding["line"]) == ("migrations/versions/0002_priority.py", 16)
    assert finding["help"] == "drop index ix_tasks_due on tasks in downgrade()"


def test_verify_migrations_unreachable_database_exits_3(make_project: MakeProject) -> None:
    code, output = verify(
        make_project("_common_only"), "postgresql://postgres@127.0.0.1:9/postgres"
    )

    assert code == 3, output
    assert "incomplete" in output


def test_docs_examples_are_the_ones_exercised_here() -> None:
    docs = Path(__file__).resolve().parents[4] / "docs" / "migrations-gate.md"
    examples = [
        line.removeprefix("$ ").split("  #")[0].strip()
        for line in docs.read_text().splitlines()
        if line.startswith("$ ")
    ]

    # opsctl verify migrations [--json verify.json]: the tests above; the benchmark: test_benchmark
    assert examples == [
        "opsctl verify migrations",
        "opsctl verify migrations --json verify.json",
        ".venv/bin/python benchmarks/migrations_gate.py --revisions 50 --repeat 3",
    ]


def test_verify_migrations_without_service_migrations_exits_2(
    make_project: MakeProject, postgres_server_url: str
) -> None:
    root = make_project("_common_only")  # its Definition of Done has a migrations section
    config = (root / "opsctl.yaml").read_text().replace("  migrations: alembic.ini\n", "")
    (root / "opsctl.yaml").write_text(config)

    code, output = verify(root, postgres_server_url)

    assert code == 2, output
    assert "opsctl.yaml:1: service.migrations: not set" in output
    assert "Traceback" not in output


def test_verify_migrations_with_a_missing_alembic_ini_exits_2(
    make_project: MakeProject, postgres_server_url: str
) -> None:
    root = make_project("_common_only")
    (root / "alembic.ini").unlink()

    code, output = verify(root, postgres_server_url)

    assert code == 2, output
    assert "the Alembic config file alembic.ini does not exist" in output
