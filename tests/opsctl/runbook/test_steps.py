"""Step types' own rules: SQL read-only transactions, the rows-affected guard, row limits,
HTTP statuses, shell exit codes, wait fail conditions, and ``sensitive`` steps."""

from __future__ import annotations

import hashlib

from .conftest import TOKEN, Project, item_names


def _statuses(project: Project) -> dict[str, dict[str, object]]:
    return {e["step"]: e for e in project.events() if e["event"] == "step_finished"}


def test_read_only_sql_cannot_write(project: Project) -> None:
    project.write_runbook(
        "sneaky",
        """
  - id: write_in_a_read
    sql: {query: "INSERT INTO items (name) VALUES ('sneaky')"}
""",
    )
    result = project.invoke("runbook", "run", "sneaky", "-e", "local")
    assert result.exit_code == 1
    assert "read-only transaction" in result.output
    assert item_names(project.database_url) == []


def test_rows_affected_guard_rolls_back_on_mismatch(project: Project) -> None:
    project.write_runbook(
        "guarded",
        """
  - id: seed
    sql: {query: "INSERT INTO items (name) SELECT 'x' FROM generate_series(1, 3)"}
    mutating: true
    timeout: 5s
  - id: rename_two
    sql:
      query: "UPDATE items SET name = 'renamed' WHERE name = %(name)s"
      params: {name: x}
      expect_rows_affected: 2
    mutating: true
    timeout: 5s
""",
    )
    result = project.invoke("runbook", "run", "guarded", "-e", "local")
    assert result.exit_code == 1
    assert "expected 2 rows affected, got 3: rolled back" in result.output
    assert item_names(project.database_url) == ["x", "x", "x"]  # the UPDATE was rolled back


def test_row_limit_truncates_and_says_so(project: Project) -> None:
    project.write_runbook(
        "many",
        """
  - id: numbers
    sql: {query: "SELECT n FROM generate_series(1, 50) AS n", row_limit: 10}
    outputs: {count: "result.rows | length", truncated: result.truncated}
""",
    )
    result = project.invoke("runbook", "run", "many", "-e", "local")
    assert result.exit_code == 0, result.output
    assert _statuses(project)["numbers"]["outputs"] == {"count": 10, "truncated": True}
    assert "10 row(s) (first 10)" in result.output


def test_http_status_shell_exit_and_wait_fail_condition(project: Project) -> None:
    project.write_runbook(
        "failures",
        """
  - id: missing
    http: {url: /nope}
    on_failure: continue
  - id: accepted_404
    http: {url: /nope, expect: 404}
  - id: exit_code
    shell: {command: [sh, -c, "echo oops >&2; exit 4"]}
    mutating: false
    on_failure: continue
  - id: gives_up
    wait:
      probe: {http: {url: /counter}}
      until: result.json.n > 1000
      fail_if: result.json.n >= 2
      interval: 10ms
    timeout: 5s
""",
    )
    result = project.invoke("runbook", "run", "failures", "-e", "local")
    assert result.exit_code == 1
    steps = _statuses(project)
    assert steps["missing"]["status"] == "failed" and "HTTP 404 (expected 2xx)" in str(
        steps["missing"]["error"]
    )
    assert steps["accepted_404"]["status"] == "succeeded"
    assert steps["exit_code"]["status"] == "failed" and "exit 4: oops" in str(
        steps["exit_code"]["error"]
    )
    assert "fail condition holds" in str(steps["gives_up"]["error"])


def test_wait_times_out_with_its_last_observation(project: Project) -> None:
    project.write_runbook(
        "never",
        """
  - id: never
    wait:
      probe: {http: {url: /counter}}
      until: result.json.n < 0
      interval: 100ms
      backoff: 2
    timeout: 1s
""",
    )
    result = project.invoke("runbook", "run", "never", "-e", "local")
    assert result.exit_code == 1
    step = _statuses(project)["never"]
    assert step["status"] == "timed_out"
    assert "result.json.n < 0 still false after" in str(step["error"])


def test_sensitive_step_records_no_inputs_or_raw_result(project: Project) -> None:
    project.write_runbook(
        "quiet",
        """
  - id: lookup
    sensitive: true
    sql:
      query: "SELECT md5(%(who)s) AS v"
      params: {who: "{{ params.who }}"}
    outputs: {length: "result.rows[0].v | length"}
""",
        header="params:\n  who: {type: string, required: true}\n",
    )
    result = project.invoke("runbook", "run", "quiet", "-e", "local", "-p", "who=bind-value-77")
    assert result.exit_code == 0, result.output
    digest = hashlib.md5(b"bind-value-77").hexdigest()  # noqa: S324 - what PostgreSQL returns
    step_events = [e for e in project.events() if e["event"].startswith("step_")]
    for text in (str(step_events), result.output):
        assert "bind-value-77" not in text and digest not in text
    assert _statuses(project)["lookup"]["outputs"] == {"length": 32}  # outputs are kept


def test_a_secret_echoed_back_is_masked_everywhere(project: Project) -> None:
    project.write_runbook(
        "echo-secret",
        """
  - id: echo
    graphql:
      query: "query { echo }"
      headers: {Authorization: "{{ secrets.token }}"}
    outputs: {auth: result.data.echo.auth}
  - id: fail_with_it
    shell:
      command: [sh, -c, 'echo "token is $TOKEN" >&2; exit 1']
      env: {TOKEN: "{{ secrets.token }}"}
    mutating: false
""",
        header="secrets:\n  token: env:RB_TOKEN\n",
    )
    result = project.invoke("runbook", "run", "echo-secret", "-e", "local")
    assert result.exit_code == 1
    assert "token is ***" in result.output
    log = project.invoke("runbook", "log", project.records()[-1].stem)
    for text in (result.output, project.records()[-1].read_text(), log.output):
        assert TOKEN not in text


def test_missing_secret_stops_before_any_step(project: Project) -> None:
    project.write_runbook(
        "needs-secret",
        """
  - id: health
    http: {url: /healthz, headers: {X-Token: "{{ secrets.other }}"}}
""",
        header="secrets:\n  other: env:RB_NOT_SET_ANYWHERE\n",
    )
    project.servers["local"].calls.clear()
    result = project.invoke("runbook", "run", "needs-secret", "-e", "local")
    assert result.exit_code == 2
    assert "environment variable RB_NOT_SET_ANYWHERE is not set" in result.output
    assert project.servers["local"].calls == []


def test_rendered_values_fit_their_fields_or_fail_the_step(project: Project) -> None:
    project.write_runbook(
        "rendering",
        """
  - id: numbers_as_text
    shell:
      command: [sh, -c, 'echo "limit=$LIMIT"']
      env: {LIMIT: "{{ params.limit }}"}
    mutating: false
    outputs: {said: result.stdout.strip()}
  - id: skipped
    when: params.limit > 100
    http: {url: /healthz}
    outputs: {status: result.status}
  - id: uses_skipped
    http: {url: "/items/{{ steps.skipped.outputs.status }}"}
""",
        header="params:\n  limit: {type: int, default: 7}\n",
    )
    result = project.invoke("runbook", "run", "rendering", "-e", "local")
    assert result.exit_code == 1
    steps = _statuses(project)
    assert steps["numbers_as_text"]["outputs"] == {"said": "limit=7"}
    assert steps["skipped"]["status"] == "skipped"
    assert steps["uses_skipped"]["status"] == "failed"
    assert "cannot render" in str(steps["uses_skipped"]["error"])
