"""A migration that blocks cannot hang the gate: timeouts, a deadline and cancellation stop it.

The fixture revisions block for real on PostgreSQL (``pg_sleep(3600)``, a lock another session
holds); each bound must stop the walk within seconds and make the gate ``incomplete``, naming
the revision and what it was doing, never ``failed`` by a finding about the migration.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from opsctl.gates.interface import GateResult, Severity, Status
from opsctl.gates.migrations.bounds import Bounds

MakeProject = Callable[..., Path]
RunGate = Callable[..., GateResult]


def timed(run: Callable[[], GateResult]) -> tuple[GateResult, float]:
    started = time.monotonic()
    result = run()
    return result, time.monotonic() - started


def assert_stopped_cleanly(result: GateResult, elapsed: float) -> None:
    assert result.status is Status.INCOMPLETE
    assert [f for f in result.findings if f.severity is Severity.ERROR] == []
    assert result.details["round_tripped"] == 1  # 0001 was checked; 0002 was not
    assert elapsed < 20  # not the hour the revision asks for


def _cancel_when_running(server_url: str, text: str, cancelled: threading.Event) -> None:
    """Set ``cancelled`` once a session of the server runs a statement containing ``text``."""
    with psycopg.connect(server_url, autocommit=True) as admin:
        while not cancelled.wait(0.1):
            query = (
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE strpos(query, %s) > 0 AND pid <> pg_backend_pid()"
            )
            row = admin.execute(query, (text,)).fetchone()
            if row is not None and row[0]:
                cancelled.set()


@pytest.mark.timeout(60)
def test_statement_timeout_stops_a_sleeping_upgrade(
    make_project: MakeProject, run_gate: RunGate
) -> None:
    root = make_project(
        "sleeps", definition_of_done_yaml="migrations: {drift: false, statement_timeout: 1s}\n"
    )

    result, elapsed = timed(lambda: run_gate(root))

    assert_stopped_cleanly(result, elapsed)
    assert result.reasons == [
        "stopped at 0002 while running its upgrade(): canceling statement due to statement "
        "timeout (statement_timeout 1s: migrations.statement_timeout)"
    ]


@pytest.mark.timeout(60)
def test_lock_timeout_stops_an_upgrade_waiting_for_a_lock(
    make_project: MakeProject, run_gate: RunGate
) -> None:
    root = make_project(
        "lock_wait", definition_of_done_yaml="migrations: {drift: false, lock_timeout: 500ms}\n"
    )

    result, elapsed = timed(lambda: run_gate(root))

    assert_stopped_cleanly(result, elapsed)
    assert result.reasons == [
        "stopped at 0002 while running its upgrade(): canceling statement due to lock timeout "
        "(lock_timeout 500ms: migrations.lock_timeout)"
    ]


@pytest.mark.timeout(60)
def test_overall_timeout_interrupts_a_running_statement(
    make_project: MakeProject, run_gate: RunGate
) -> None:
    # the statement timeout alone would allow the hour: only the deadline can stop it
    root = make_project(
        "sleeps",
        definition_of_done_yaml="migrations: {drift: false, timeout: 2s, statement_timeout: 1h}\n",
    )

    result, elapsed = timed(lambda: run_gate(root))

    assert_stopped_cleanly(result, elapsed)
    assert result.reasons == [
        "stopped at 0002 while running its upgrade(): the database checks took longer than "
        "2s (migrations.timeout)"
    ]


@pytest.mark.timeout(60)
def test_cancel_interrupts_a_running_statement(
    make_project: MakeProject, run_gate: RunGate, postgres_server_url: str
) -> None:
    root = make_project("sleeps", definition_of_done_yaml="migrations: {drift: true}\n")
    cancelled = threading.Event()
    # like Ctrl-C or --fail-fast: the runner sets the event while the statement runs
    watcher = threading.Thread(
        target=_cancel_when_running, args=(postgres_server_url, "pg_sleep(3600)", cancelled)
    )
    watcher.start()
    try:
        result, elapsed = timed(lambda: run_gate(root, cancelled=cancelled))
    finally:
        cancelled.set()
        watcher.join()

    assert_stopped_cleanly(result, elapsed)
    assert result.reasons == [
        "stopped at 0002 while running its upgrade(): cancelled (Ctrl-C or --fail-fast)",
        "drift not checked: the history could not be migrated to head",
    ]


def test_session_timeouts_travel_in_the_url_env_py_is_given() -> None:
    bounds = Bounds(statement_timeout=60, lock_timeout=0.5)

    url = bounds.url("postgresql://postgres@127.0.0.1:5432/db?options=-c%20work_mem%3D8MB")

    assert url == (
        "postgresql://postgres@127.0.0.1:5432/db?options=-c%20work_mem%3D8MB%20-c%20"
        "statement_timeout%3D60000%20-c%20lock_timeout%3D500"
    )
