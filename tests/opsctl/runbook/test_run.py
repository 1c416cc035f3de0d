"""Running runbooks: every step type, outputs between steps, records, secrets, human output."""

from __future__ import annotations

import json

from .conftest import TOKEN, Project, item_names


def test_every_step_type_runs_and_is_recorded(project: Project) -> None:
    result = project.invoke(
        "runbook",
        "run",
        "all-steps",
        "--env",
        "local",
        "-p",
        "name=widget",
        "--reason",
        "INC-1",
        input="y\nall green\n",
    )
    assert result.exit_code == 0, result.output
    assert item_names(project.database_url) == ["widget"]
    events = project.events()
    start = events[0]
    assert start["event"] == "run_started"
    assert start["params"] == {
        "name": "widget",
        "limit": 5,
        "ratio": 0.5,
        "verbose": False,
        "mode": "fast",
        "pause": 0.1,
    }
    assert start["reason"] == "INC-1" and start["env"] == "local"
    assert start["actor"]["user"] and start["actor"]["host"]
    assert start["content_hash"].startswith("sha256:")
    finished = {e["step"]: e for e in events if e["event"] == "step_finished"}
    assert finished["only_when_verbose"]["status"] == "skipped"
    statuses = {k: v["status"] for k, v in finished.items() if k != "only_when_verbose"}
    assert set(statuses.values()) == {"succeeded"}, statuses
    assert finished["health"]["outputs"] == {"status": "ok"}
    assert finished["greet"]["outputs"] == {"said": "hello widget ***"}
    assert finished["count_after"]["assertions"][0]["ok"] is True
    assert finished["look"]["outputs"] == {"saw": "all green"}
    decisions = [e for e in events if e["event"] == "decision"]
    assert [d["answer"] for d in decisions] == ["y", "all green"]
    assert events[-1]["event"] == "run_finished" and events[-1]["status"] == "succeeded"
    # the wait polled until the counter reached 3
    assert finished["counter_reaches_three"]["result"]["polls"] >= 1
    # secrets: used (the server saw the token) but absent from output and record
    graphql_calls = [c for c in project.servers["local"].calls if c[1] == "/graphql"]
    assert graphql_calls
    record_text = project.records()[-1].read_text()
    assert TOKEN not in record_text and TOKEN not in result.output
    assert "***" in record_text
    # the human output names each step and what it does
    assert "step 3/11 count_items" in result.output
    assert "SELECT count(*)" in result.output


def test_failed_step_says_what_happened_and_what_to_do(project: Project) -> None:
    result = project.invoke(
        "runbook", "run", "all-steps", "--env", "local", "-p", "name=widget", input="n\n"
    )
    assert result.exit_code == 1, result.output
    run_id = project.records()[-1].stem
    assert "failed at step go_ahead" in result.output
    assert "what happened: declined" in result.output
    assert f"opsctl runbook resume {run_id}" in result.output
    events = project.events()
    assert events[-1]["status"] == "failed" and events[-1]["failed_step"] == "go_ahead"
    history = project.invoke("runbook", "history")
    assert run_id in history.output and "failed" in history.output
    log = project.invoke("runbook", "log", run_id)
    assert log.exit_code == 0 and "declined" in log.output
    raw = project.invoke("runbook", "log", run_id[:-2], "--json")
    assert next(json.loads(line)["event"] for line in raw.output.splitlines()) == "run_started"


def test_params_are_checked_before_any_step(project: Project) -> None:
    cases = [
        (["-p", "name=Widget!"], "does not match the pattern"),
        (["-p", "name=w", "-p", "limit=11"], "above the maximum"),
        (["-p", "name=w", "-p", "mode=medium"], "expected one of fast, slow"),
        (["-p", "name=w", "-p", "pause=soon"], "expected a duration"),
        (["-p", "name=w", "-p", "colour=red"], "unknown parameter 'colour'"),
        ([], "parameter 'name' is required"),
    ]
    for extra, message in cases:
        result = project.invoke("runbook", "run", "all-steps", "--env", "local", *extra)
        assert result.exit_code == 2, result.output
        assert message in result.output
    assert project.servers["local"].calls == [] or not project.records()


def test_graphql_errors_fail_the_step(project: Project) -> None:
    (project.root / "runbooks" / "gql-boom.yaml").write_text(
        "name: gql-boom\nsummary: x\nowners: [a]\nsteps:\n"
        "  - id: boom\n    graphql: {query: 'query { boom }'}\n"
    )
    result = project.invoke("runbook", "run", "gql-boom", "--env", "local")
    assert result.exit_code == 1
    assert "GraphQL errors: boom" in result.output
