"""Resume after a failure, after ``kill -9`` and after Ctrl-C: no finished step runs twice."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from .conftest import Project, item_names


def _wait_for_event(project: Project, event: str, step: str, timeout: float = 20.0) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in project.records():
            for line in path.read_text().splitlines():
                data = json.loads(line)
                if data["event"] == event and data.get("step") == step:
                    return path
        time.sleep(0.05)
    raise AssertionError(f"no {event} for {step} within {timeout}s")


def _valid_lines(path: Path) -> list[dict[str, Any]]:
    # every line of the record is complete JSON: nothing torn by the crash
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_resume_after_a_failure_continues_from_the_failed_step(
    project: Project, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    failed = project.invoke(
        "runbook", "run", "fails-then-passes", "-e", "local", "-p", f"marker={marker}"
    )
    assert failed.exit_code == 1, failed.output
    assert "marker missing" in failed.output
    run_id = project.records()[-1].stem
    assert item_names(project.database_url) == ["first"]
    marker.touch()
    resumed = project.invoke("runbook", "resume", run_id, "--reason", "marker fixed")
    assert resumed.exit_code == 0, resumed.output
    # first_insert was not run again; its recorded output (id 1) fed the last step
    assert item_names(project.database_url) == ["first", "after-1"]
    events = _valid_lines(project.records()[-1])
    starts = [e["step"] for e in events if e["event"] == "step_started"]
    assert starts.count("first_insert") == 1
    assert starts.count("check_marker") == 2
    assert [e["event"] for e in events].count("run_resumed") == 1
    assert events[-1] == {**events[-1], "event": "run_finished", "status": "succeeded"}
    again = project.invoke("runbook", "resume", run_id)
    assert again.exit_code == 2 and "nothing to resume" in again.output


def test_resume_refuses_when_the_runbook_changed(project: Project, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    project.invoke("runbook", "run", "fails-then-passes", "-e", "local", "-p", f"marker={marker}")
    run_id = project.records()[-1].stem
    path = project.root / "runbooks" / "fails-then-passes.yaml"
    path.write_text(path.read_text().replace("'first'", "'premier'"))
    refused = project.invoke("runbook", "resume", run_id)
    assert refused.exit_code == 2
    assert "changed since run" in refused.output
    assert "-    sql: {query: \"INSERT INTO items (name) VALUES ('first')" in refused.output
    assert "+    sql: {query: \"INSERT INTO items (name) VALUES ('premier')" in refused.output
    assert item_names(project.database_url) == ["first"]


def test_kill_9_mid_run_then_resume(project: Project, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    process = project.spawn("runbook", "run", "resumable", "-e", "local", "-p", f"marker={marker}")
    try:
        record = _wait_for_event(project, "step_started", "wait_for_marker")
        # a second run while this one holds the lock is refused, naming the holder
        concurrent = project.invoke(
            "runbook", "run", "resumable", "-e", "local", "-p", f"marker={marker}"
        )
        assert concurrent.exit_code == 2
        assert f"pid {process.pid}" in concurrent.output
        process.kill()  # kill -9: no cleanup at all
        process.wait(timeout=10)
    finally:
        marker.touch()  # lets the orphaned command end
        if process.poll() is None:
            process.kill()
        process.communicate()
    events = _valid_lines(record)
    assert events[-1]["event"] == "step_started"
    history = project.invoke("runbook", "history")
    assert "crashed" in history.output
    resumed = project.invoke("runbook", "resume", record.stem)
    assert resumed.exit_code == 0, resumed.output
    assert item_names(project.database_url) == ["first", "second"]  # first ran once
    events = _valid_lines(record)
    starts = [e["step"] for e in events if e["event"] == "step_started"]
    assert starts == ["first_insert", "wait_for_marker", "wait_for_marker", "second_insert"]
    resumed_event = next(e for e in events if e["event"] == "run_resumed")
    assert resumed_event["from_step"] == "wait_for_marker"
    assert resumed_event["rerun_decision"] is None  # read-only: re-run without asking


def test_half_run_mutating_step_is_rerun_only_after_the_human_confirms(
    project: Project, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    process = project.spawn("runbook", "run", "half-run", "-e", "local", "-p", f"marker={marker}")
    try:
        record = _wait_for_event(project, "step_started", "mutating_wait")
        process.kill()
        process.wait(timeout=10)
    finally:
        marker.touch()
        process.communicate()
    declined = project.invoke("runbook", "resume", record.stem, input="n\n")
    assert declined.exit_code == 2
    assert "may have half-run" in declined.output
    assert item_names(project.database_url) == ["first"]
    accepted = project.invoke("runbook", "resume", record.stem, input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert item_names(project.database_url) == ["first", "second"]
    decisions = [e["rerun_decision"] for e in _valid_lines(record) if e["event"] == "run_resumed"]
    assert [d["answer"] for d in decisions] == ["n", "y"]


def test_ctrl_c_stops_the_step_records_it_and_releases_the_lock(
    project: Project, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"  # never created: the step would wait for 30 s
    process = project.spawn("runbook", "run", "resumable", "-e", "local", "-p", f"marker={marker}")
    record = _wait_for_event(project, "step_started", "wait_for_marker")
    deadline = time.monotonic() + 10
    while not _processes_with_env(f"MARKER={marker}") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _processes_with_env(f"MARKER={marker}")  # the command runs
    process.send_signal(signal.SIGINT)
    try:
        output, _ = process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    assert process.returncode == 3, output
    assert "stopped by Ctrl-C" in output and f"opsctl runbook resume {record.stem}" in output
    events = _valid_lines(record)
    assert events[-2]["status"] == "interrupted" and events[-2]["step"] == "wait_for_marker"
    assert events[-1] == {**events[-1], "event": "run_finished", "status": "interrupted"}
    assert not (project.root / ".opsctl" / "locks" / "resumable@local.lock").exists()
    # the command's process group is gone: no process still has the marker in its environment
    assert _processes_with_env(f"MARKER={marker}") == []


def _processes_with_env(entry: str) -> list[int]:
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if entry.encode() in environ.read_bytes().split(b"\0"):
                found.append(int(environ.parent.name))
        except OSError:
            continue  # ended meanwhile, or not ours
    return found


def test_ctrl_c_during_a_query_cancels_it(project: Project) -> None:
    project.write_runbook(
        "slow-read",
        """
  - id: slow
    sql: {query: "SELECT pg_sleep(30), 'opsctl-ctrl-c-marker'"}
    timeout: 60s
""",
    )
    process = project.spawn("runbook", "run", "slow-read", "-e", "local")
    try:
        _wait_for_event(project, "step_started", "slow")
        deadline = time.monotonic() + 10
        while not _active_marker_queries(project) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _active_marker_queries(project) == 1
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 3, output
    assert _active_marker_queries(project) == 0  # cancelled on the server, not left running
    assert project.events()[-1]["status"] == "interrupted"


def _active_marker_queries(project: Project) -> int:
    import psycopg

    with psycopg.connect(project.database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'active'"
            " AND query LIKE %s AND pid <> pg_backend_pid()",
            ("%opsctl-ctrl-c-%",),
        ).fetchone()
    return int(row[0]) if row else 0
