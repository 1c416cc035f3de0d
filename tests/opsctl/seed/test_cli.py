"""``opsctl seed`` through the CLI: output, exit codes, and the database left untouched."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from tests.opsctl.seed.conftest import RunCli
from tests.opsctl.seed.helpers import FIXTURE_CONFIG, counts, dump, migrate, subprocess_env

from opsctl.database.throwaway import throwaway_database

FINGERPRINT = re.compile(r"fingerprint: ([0-9a-f]{64})")


def fingerprint(output: str) -> str:
    found = FINGERPRINT.search(output)
    assert found, output
    return found.group(1)


def test_seed_prints_counts_rows_per_second_and_fingerprint(
    run_cli: RunCli, fixture_db: str
) -> None:
    result = run_cli("seed", "--scale", "small", "--seed", "3", "--anchor-date", "2026-01-15")
    assert result.exit_code == 0, result.output
    assert re.search(r"owners\s+│\s+50 ", result.stdout)
    assert "rows/s" in result.stdout
    again = run_cli("seed", "--seed", "3", "--anchor-date", "2026-01-15")
    assert fingerprint(again.stdout) == fingerprint(result.stdout)
    other = run_cli("seed", "--seed", "4", "--anchor-date", "2026-01-15")
    assert fingerprint(other.stdout) != fingerprint(result.stdout)
    assert counts(fixture_db) == {"owners": 50, "items": 200, "tags": 120}


def test_dry_run_writes_nothing(run_cli: RunCli, fixture_db: str) -> None:
    assert run_cli("seed").exit_code == 0
    before = dump(fixture_db)
    result = run_cli("seed", "--dry-run", "--scale", "medium")
    assert result.exit_code == 0, result.output
    assert "Dry run, nothing written" in result.stdout
    assert re.search(r"items\s+│\s+20,000 │.*│\s+200 │", result.stdout)
    assert dump(fixture_db) == before


def test_protected_environment_is_refused_with_exit_2(run_cli: RunCli, fixture_db: str) -> None:
    assert run_cli("seed").exit_code == 0
    before = dump(fixture_db)
    result = run_cli("seed", "--env", "production")
    assert result.exit_code == 2
    assert "protected" in result.stderr
    assert "Traceback" not in result.output
    assert dump(fixture_db) == before


def test_old_revision_is_refused_with_exit_2_and_the_fix(postgres_server_url: str) -> None:
    from typer.testing import CliRunner

    from opsctl.cli import app

    with throwaway_database(postgres_server_url) as url:
        migrate(FIXTURE_CONFIG.parent / "alembic.ini", url, "r1")
        with psycopg.connect(url) as connection:
            connection.execute(
                "INSERT INTO owners (email, name) VALUES ('kept@example.test', 'Kept')"
            )
        result = CliRunner().invoke(
            app,
            ["--config", str(FIXTURE_CONFIG), "seed"],
            env={"SEED_TEST_DATABASE_URL": url, "NO_COLOR": "1"},
        )
        assert result.exit_code == 2
        assert "not the repository's head" in result.stderr
        assert "upgrade head" in result.stderr
        assert counts(url, ("owners", "items")) == {"owners": 1, "items": 0}


def test_bad_scale_and_mode_are_usage_errors(run_cli: RunCli) -> None:
    assert run_cli("seed", "--scale", "huge").exit_code == 2
    bad_mode = run_cli("seed", "--mode", "merge")
    assert bad_mode.exit_code == 2
    assert "replace or append" in bad_mode.stderr


def test_a_seed_killed_midway_leaves_the_database_as_it_was(fixture_db: str) -> None:
    env = subprocess_env(fixture_db)
    command = [sys.executable, "-m", "opsctl", "--config", str(FIXTURE_CONFIG), "seed"]
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=60)
    before = dump(fixture_db)
    # a seed far too big to finish before the kill: replace (TRUNCATE) and COPY are under way
    process = subprocess.Popen(
        [*command, "--scale", "5000000"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        copying = False
        with psycopg.connect(fixture_db, autocommit=True) as watcher:
            while time.monotonic() < deadline and not copying:
                row = watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND query LIKE 'COPY %%'"
                ).fetchone()
                copying = bool(row and row[0])
                time.sleep(0.05)
        assert copying, "the seed never started its COPY"
        time.sleep(0.3)
    finally:
        process.kill()
        process.wait(timeout=10)
    assert process.returncode == -9
    assert dump(fixture_db) == before


def test_a_missing_or_broken_plan_is_a_config_error(tmp_path: Path, fixture_db: str) -> None:
    from typer.testing import CliRunner

    from opsctl.cli import app

    for seed_line, message in (
        ("", "no seed plan configured"),
        ("  seed: no_such_module_here:plan\n", "cannot import no_such_module_here"),
        ("  seed: json:dumps\n", "calling json:dumps() failed"),
        ("  seed: json:decoder\n", "is not a SeedPlan"),
    ):
        config = tmp_path / "opsctl.yaml"
        config.write_text(
            f"service:\n  name: broken\n{seed_line}environments:\n  local:\n"
            f"    url: http://127.0.0.1:8000\n    database_url: {fixture_db}\n",
            encoding="utf-8",
        )
        result = CliRunner().invoke(app, ["--config", str(config), "seed"], env={"NO_COLOR": "1"})
        assert result.exit_code == 2, result.output
        assert message in result.stderr
        assert "Traceback" not in result.output
