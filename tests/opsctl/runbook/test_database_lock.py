"""The lock spans machines: two checkouts (two laptops) running the same runbook against the
same environment's database. Two real processes, the test PostgreSQL in between."""

from __future__ import annotations

import getpass
import shutil
import signal
import socket
from pathlib import Path

import psycopg

from opsctl.runbook.db_lock import application_name, lock_key

from .conftest import Project

_HOLD = """
  - id: hold
    shell:
      command:
        - python
        - -c
        - "import os, time; print('holding', flush=True); time.sleep(float(os.environ['S']))"
      env: {S: "{{ params.seconds }}"}
    mutating: false
    timeout: 60s
"""


def _second_laptop(project: Project, tmp_path: Path) -> Project:
    """Another checkout of the same service: its own .opsctl/ (lock file), the same database."""
    root = tmp_path / "laptop-b"
    shutil.copytree(project.root, root, ignore=shutil.ignore_patterns(".opsctl"))
    return Project(root, project.servers, project.database_url)


def test_a_second_checkout_is_refused_and_told_who_holds_the_lock(
    project: Project, tmp_path: Path
) -> None:
    header = "params:\n  seconds: {type: float, default: 30}\n"
    project.write_runbook("held", _HOLD, header=header)
    other = _second_laptop(project, tmp_path)
    first = project.spawn("runbook", "run", "held", "-e", "local")
    try:
        assert first.stdout is not None
        head = first.stdout.readline()  # printed once both locks are held
        assert "runbook held on local" in head, head
        run_id = head.rsplit("run ", 1)[1].strip()
        # the holder's database session says who it is
        with psycopg.connect(project.database_url) as conn:
            names = [r[0] for r in conn.execute("SELECT application_name FROM pg_stat_activity")]
        me = {"user": getpass.getuser(), "host": socket.gethostname()}
        assert application_name(run_id, me) in names
        second = other.spawn("runbook", "run", "held", "-e", "local", "-p", "seconds=0")
        out, _ = second.communicate(timeout=30)
        assert second.returncode == 2, out
        assert "held on local is already running" in out
        assert f"held by {me['user']}@{me['host']} (run {run_id};" in out
        assert "database session" in out
        # the refused run keeps no lock: not its lock file, not the database lock
        assert not list((other.root / ".opsctl" / "locks").glob("*.lock"))
        first.send_signal(signal.SIGTERM)  # Ctrl-C-like stop: records, releases both locks
        rest, _ = first.communicate(timeout=30)
        assert first.returncode == 3, rest
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert project.events()[0]["database_lock"] == "taken"
    again = other.invoke("runbook", "run", "held", "-e", "local", "-p", "seconds=0")
    assert again.exit_code == 0, again.output


def test_killed_holder_frees_the_database_lock(project: Project, tmp_path: Path) -> None:
    header = "params:\n  seconds: {type: float, default: 30}\n"
    project.write_runbook("held", _HOLD, header=header)
    first = project.spawn("runbook", "run", "held", "-e", "local")
    try:
        assert first.stdout is not None
        assert "runbook held on local" in first.stdout.readline()
        first.kill()  # kill -9: no cleanup at all; PostgreSQL ends the session and its lock
        first.wait()
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
        if first.stdout is not None:
            first.stdout.close()
    # the other laptop cannot see the dead process; the database can
    other = _second_laptop(project, tmp_path)
    key = lock_key("fixture-service", "held", "local")
    with psycopg.connect(project.database_url, autocommit=True) as conn:
        for _ in range(50):
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
            if row and row[0]:
                conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
                break
            conn.execute("SELECT pg_sleep(0.1)")
        else:
            raise AssertionError("the killed run's database lock was never released")
    result = other.invoke("runbook", "run", "held", "-e", "local", "-p", "seconds=0")
    assert result.exit_code == 0, result.output


def test_no_database_means_the_local_lock_only(project: Project) -> None:
    project.write_runbook("nap", "  - id: nap\n    sleep: {duration: 10ms}\n")
    config = project.config.read_text()
    project.config.write_text(
        "\n".join(line for line in config.splitlines() if "database_url" not in line) + "\n"
    )
    result = project.invoke("runbook", "run", "nap", "-e", "local")
    assert result.exit_code == 0, result.output
    assert project.events()[0]["database_lock"] is None


def test_an_unreachable_database_warns_and_runs_under_the_local_lock(project: Project) -> None:
    project.write_runbook("nap", "  - id: nap\n    sleep: {duration: 10ms}\n")
    config = project.config.read_text().replace(
        project.database_url, "postgresql://postgres:pw-Zq8v@127.0.0.1:1/nowhere"
    )
    project.config.write_text(config)
    result = project.invoke("runbook", "run", "nap", "-e", "local")
    assert result.exit_code == 0, result.output
    assert "warning: the database lock was not taken" in result.output
    assert "only this checkout's lock protects this run" in result.output
    assert "pw-Zq8v" not in result.output
    assert project.events()[0]["database_lock"].startswith("not taken: cannot reach")
