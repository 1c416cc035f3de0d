"""Timeouts really stop the work (process group killed, query cancelled); retries back off."""

from __future__ import annotations

import os
import time
from pathlib import Path

import psycopg

from .conftest import Project


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (killed, not yet reaped by its parent) counts as gone
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ", 1)[1].startswith("Z"))


def test_timeouts_kill_the_process_group_and_cancel_the_query(
    project: Project, tmp_path: Path
) -> None:
    pidfile = tmp_path / "pids"
    started = time.monotonic()
    result = project.invoke(
        "runbook", "run", "timeouts", "--env", "local", "-p", f"pidfile={pidfile}"
    )
    elapsed = time.monotonic() - started
    assert result.exit_code == 1, result.output
    assert elapsed < 8, elapsed  # 1 s + grace for the command, 1 s for the query
    pids = [int(line) for line in pidfile.read_text().split()]
    assert len(pids) == 2  # the shell and the `sleep` it put in the background
    assert not any(_alive(pid) for pid in pids)
    finished = {e["step"]: e for e in project.events() if e["event"] == "step_finished"}
    assert finished["hung_command"]["status"] == "timed_out"
    assert "process group" in finished["hung_command"]["error"]
    assert finished["hung_command"]["continued"] is True  # on_failure: continue
    assert finished["slow_query"]["status"] == "timed_out"
    assert "cancelled" in finished["slow_query"]["error"]
    with psycopg.connect(project.database_url) as conn:
        running = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE %s AND state = 'active'"
            " AND pid <> pg_backend_pid()",
            ("%opsctl-slow-query-marker%",),
        ).fetchone()
    assert running == (0,)


def test_retries_back_off_until_the_endpoint_answers(project: Project) -> None:
    started = time.monotonic()
    result = project.invoke("runbook", "run", "retries", "--env", "local", "-p", "key=k1")
    elapsed = time.monotonic() - started
    assert result.exit_code == 1, result.output  # the second step never recovers
    events = project.events()
    flaky = [e for e in events if e.get("step") == "flaky" and e["event"] == "step_finished"]
    assert [e["status"] for e in flaky] == ["failed", "failed", "succeeded"]
    assert flaky[-1]["outputs"] == {"calls": 3}
    started_at = [
        e["at"] for e in events if e.get("step") == "flaky" and e["event"] == "step_started"
    ]
    assert len(started_at) == 3
    assert (
        "retrying in 0.1s" in result.output and "retrying in 0.2s" in result.output
    )  # exponential
    never = [
        e for e in events if e.get("step") == "never_recovers" and e["event"] == "step_finished"
    ]
    assert [e["attempt"] for e in never] == [1, 2]
    assert elapsed >= 0.35  # 0.1 + 0.2 + 0.05 of backoff really waited
