"""Dry run mutates nothing; protected environments need their name typed; one run per lock."""

from __future__ import annotations

import json
import os
import socket

from opsctl.runbook.lock import RunLock

from .conftest import Project, item_names


def test_dry_run_runs_reads_for_real_and_mutates_nothing(project: Project) -> None:
    server = project.servers["local"]
    server.calls.clear()
    result = project.invoke("runbook", "run", "mutations", "--env", "local", "--dry-run")
    assert result.exit_code == 0, result.output
    assert item_names(project.database_url) == []  # checked in the database
    assert not [c for c in server.calls if c[0] == "POST"]  # no write reached the server
    assert ("GET", "/healthz", {}) in server.calls  # the read-only step ran for real
    assert not (project.root / "dry.touched").exists()
    # mutating steps are shown fully rendered: SQL and binds, method/URL/body, command + env names
    assert "INSERT INTO items (name) VALUES (%(name)s) RETURNING id binds={'name': 'dry'}" in (
        result.output
    )
    assert "POST /items json={'name': 'dry', 'after': 0}" in result.output
    assert "env=['TARGET']" in result.output
    assert "uses outputs of simulated step(s) insert" in result.output
    assert "simulated 3 mutating step(s)" in result.output
    assert "skipped 1 read-only step(s) that need their outputs" in result.output
    assert "did not ask 1 human step(s)" in result.output
    events = project.events()
    assert events[0]["dry_run"] is True
    statuses = {e["step"]: e["status"] for e in events if e["event"] == "step_finished"}
    assert statuses == {
        "before": "succeeded",
        "health": "succeeded",
        "insert": "simulated",
        "post": "simulated",
        "use_insert": "simulated",
        "sure": "simulated",
        "touch": "simulated",
        "after": "succeeded",
    }
    assert not (project.root / ".opsctl" / "locks" / "mutations@local.lock").exists()


def test_protected_environment_needs_its_name_typed_even_with_yes(project: Project) -> None:
    production = project.servers["production"]
    production.calls.clear()
    no_input = project.invoke("runbook", "run", "protected-write", "--env", "production", "--yes")
    assert no_input.exit_code == 2
    assert "production is protected" in no_input.output
    wrong = project.invoke(
        "runbook", "run", "protected-write", "--env", "production", "--yes", input="prod\n"
    )
    assert wrong.exit_code == 2 and "did not match 'production'" in wrong.output
    assert production.calls == []  # refused before anything touched production
    # typed name accepted; --yes still does not answer the confirm step on a protected env
    declined = project.invoke(
        "runbook",
        "run",
        "protected-write",
        "--env",
        "production",
        "--yes",
        input="production\nn\n",
    )
    assert declined.exit_code == 1, declined.output
    assert "Type its name to continue" in declined.output
    assert not [c for c in production.calls if c[0] == "POST"]
    accepted = project.invoke(
        "runbook", "run", "protected-write", "--env", "production", input="production\ny\n"
    )
    assert accepted.exit_code == 0, accepted.output
    assert ("POST", "/items", {"name": "production"}) in production.calls
    assert project.events()[0]["confirmation"]["typed"] == "production"
    # on an unprotected env --yes answers the confirm step (and says so in the record)
    staging = project.invoke("runbook", "run", "protected-write", "--env", "staging", "--yes")
    assert staging.exit_code == 0, staging.output
    decision = next(e for e in project.events() if e["event"] == "decision")
    assert decision["answer"] == "yes" and "(--yes)" in decision["by"]


def test_lock_refuses_a_concurrent_run_and_names_the_holder(project: Project) -> None:
    lock = RunLock(project.root, "protected-write", "staging")
    # a live holder: this very process, as another person's run would be
    lock.acquire("other-run", {"user": "ada", "host": socket.gethostname(), "pid": os.getpid()})
    try:
        result = project.invoke("runbook", "run", "protected-write", "--env", "staging", "--yes")
        assert result.exit_code == 2
        assert "already running" in result.output and "ada@" in result.output
        assert "other-run" in result.output
        # another environment has its own lock
        other = project.invoke("runbook", "run", "protected-write", "--env", "local", "--yes")
        assert other.exit_code == 0, other.output
    finally:
        lock.release()
    # a lock left by a dead process on this host is stale and taken over (and recorded)
    dead = {"user": "bob", "host": socket.gethostname(), "pid": 2**22 + 12345, "run_id": "x"}
    lock.path.write_text(json.dumps(dead))
    result = project.invoke("runbook", "run", "protected-write", "--env", "staging", "--yes")
    assert result.exit_code == 0, result.output
    assert project.events()[0]["lock_taken_over"]["user"] == "bob"
    assert not lock.path.exists()  # released at the end
