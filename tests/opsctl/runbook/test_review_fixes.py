"""Findings of the independent review: each test failed before its fix.

Read-only SQL cannot escape its transaction, GraphQL writes are found by parsing, a write
cannot be declared a read, and a runbook file with an invalid date does not break `list`.
"""

from __future__ import annotations

import json

import psycopg
import pytest

from opsctl.runbook.load import check_file

from .conftest import Project


def _table_exists(database_url: str, name: str) -> bool:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()
    return bool(row and row[0])


@pytest.mark.parametrize("dry_run", [False, True])
def test_read_only_sql_step_cannot_commit_its_way_out(project: Project, dry_run: bool) -> None:
    project.write_runbook(
        "escape",
        """
  - id: sneaky
    sql: {query: "SELECT 1; COMMIT; CREATE TABLE escaped_review (id int)"}
""",
    )
    args = ["runbook", "run", "escape", "-e", "local", *(["--dry-run"] if dry_run else [])]
    result = project.invoke(*args)
    assert result.exit_code == 1, result.output
    assert "exactly one SQL statement" in result.output
    assert not _table_exists(project.database_url, "escaped_review")


def _write(project: Project, name: str, steps: str) -> list[str]:
    project.write_runbook(name, steps)
    path = project.root / "runbooks" / f"{name}.yaml"
    return [str(p) for p in check_file(path, display=f"runbooks/{name}.yaml")]


def test_a_graphql_mutation_after_a_comment_is_mutating(project: Project) -> None:
    project.write_runbook(
        "commented",
        """
  - id: write
    graphql:
      query: |
        # looks like a read
        mutation { revoke(id: 1) }
    timeout: 5s
""",
    )
    server = project.servers["local"]
    server.calls.clear()
    result = project.invoke("runbook", "run", "commented", "-e", "local", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "simulated 1 mutating step(s)" in result.output
    assert not [c for c in server.calls if c[1] == "/graphql"]  # nothing was sent
    # without a timeout it is refused like every other mutating step
    problems = _write(
        project, "commented2", "  - id: w\n    graphql: {query: '# hi\n\n      mutation { x }'}\n"
    )
    assert any("is mutating and has no timeout" in p for p in problems), problems


def test_a_subscription_counts_as_mutating_and_bad_graphql_is_refused(project: Project) -> None:
    problems = _write(project, "sub", "  - id: s\n    graphql: {query: 'subscription { ticks }'}\n")
    assert any("is mutating and has no timeout" in p for p in problems), problems
    bad = _write(project, "bad", "  - id: q\n    graphql: {query: 'query { me { id }'}\n")
    assert len(bad) == 1
    assert bad[0].startswith("runbooks/bad.yaml:6: steps[0].graphql.query: "), bad
    assert "GraphQL syntax error" in bad[0]


@pytest.mark.parametrize(
    "step",
    [
        "http: {method: POST, url: /items}",
        "http: {method: DELETE, url: /items/1}",
        "graphql: {query: 'mutation { revoke(id: 1) }'}",
    ],
)
def test_a_write_cannot_be_declared_a_read(project: Project, step: str) -> None:
    steps = f"  - id: w\n    {step}\n    mutating: false\n    timeout: 5s\n"
    problems = _write(project, "liar", steps)
    assert len(problems) == 1, problems
    assert problems[0].startswith("runbooks/liar.yaml:7: steps[0].mutating: "), problems
    assert "cannot be declared read-only" in problems[0]


@pytest.mark.parametrize("step", ["http: {method: OPTIONS, url: /items}", "http: {url: /x}"])
def test_reads_may_say_mutating_false(project: Project, step: str) -> None:
    assert _write(project, "reads", f"  - id: r\n    {step}\n    mutating: false\n") == []


def test_list_reports_a_runbook_with_an_invalid_date_and_lists_the_others(
    project: Project,
) -> None:
    (project.root / "runbooks" / "dated.yaml").write_text(
        "name: dated\nsummary: 2021-02-30\nowners: [ops]\n"
        "steps:\n  - id: s\n    sleep: {duration: 1s}\n"
    )
    listed = project.invoke("runbook", "list")
    assert listed.exit_code == 0, listed.output
    assert "invalid: runbooks/dated.yaml:2: summary:" in listed.output
    assert "mutations" in listed.output and "all-steps" in listed.output
    assert "unexpected error" not in listed.output
    validated = project.invoke("runbook", "validate")
    assert validated.exit_code == 2
    assert "runbooks/dated.yaml:2" in validated.output
    # nesting deep enough to exhaust the parser's recursion: one more broken file, not a crash
    (project.root / "runbooks" / "deep.yaml").write_text("name: " + "[" * 5000 + "]" * 5000)
    listed = project.invoke("runbook", "list")
    assert listed.exit_code == 0, listed.output
    assert "invalid: runbooks/deep.yaml: cannot read: RecursionError" in listed.output
    assert "invalid: runbooks/dated.yaml:2" in listed.output and "mutations" in listed.output


# prints the secret (from its environment) in the forms a command or a server may use
_LEAKER = r"""
import base64, json, os, sys, urllib.parse
s = os.environ["T"]
raw = s.encode()
print("b64", base64.b64encode(raw).decode())
print("b64url-nopad", base64.urlsafe_b64encode(raw).decode().rstrip("="))
print("basic", base64.b64encode(b"ops:" + raw).decode())
print("percent", urllib.parse.quote(s, safe=""))
print("json", json.dumps({"token": s}))
print("reversed", s[::-1])
print("err", base64.b64encode(raw).decode(), file=sys.stderr)
sys.exit(3)
"""


def _forms(secret: str) -> list[str]:
    import base64
    import json
    import urllib.parse

    raw = secret.encode()
    return [
        secret,
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        base64.b64encode(b"ops:" + raw).decode()[8:-4],  # the part that is the secret's
        urllib.parse.quote(secret, safe=""),
        json.dumps(secret)[1:-1],
        secret[::-1],
    ]


def test_encoded_secrets_reach_no_output_record_or_log(project: Project) -> None:
    # a secret with characters that change under percent-encoding and JSON escaping
    secret = 'p@ss/w"rd+Zq8v-4711'
    (project.root / "token.txt").write_text(secret)
    project.write_runbook(
        "leaky",
        f"""
  - id: leak
    shell:
      command: [python, -c, {json.dumps(_LEAKER)}]
      env: {{T: "{{{{ secrets.token }}}}"}}
    mutating: false
    outputs: {{said: result.stdout}}
""",
        header="secrets:\n  token: file:token.txt\n",
    )
    run = project.invoke("runbook", "run", "leaky", "-e", "local")
    assert run.exit_code == 1, run.output
    assert "exit 3" in run.output  # the failure (its stderr) is shown ...
    run_id = project.events()[0]["run_id"]
    record = project.records()[-1].read_text()
    shown = project.invoke("runbook", "log", run_id)
    raw = project.invoke("runbook", "log", run_id, "--json")
    history = project.invoke("runbook", "history")
    for output in (run.output, record, shown.output, raw.output, history.output):
        for form in _forms(secret):
            assert form not in output, (form, output)
    assert "err ***" in run.output and "percent ***" in record  # ... masked, not dropped
    # a record written before the masker knew these forms is masked when it is read back
    leaked = record.replace("b64 ***", "b64 " + _forms(secret)[1])
    project.records()[-1].write_text(leaked)
    assert _forms(secret)[1] in project.records()[-1].read_text()
    for args in (("log", run_id), ("log", run_id, "--json")):
        again = project.invoke("runbook", *args)
        assert again.exit_code == 0, again.output
        assert _forms(secret)[1] not in again.output
    assert "b64 ***" in again.output  # the --json record, masked again as it is read


def test_errors_of_a_run_are_masked(project: Project) -> None:
    from opsctl.errors import RefusedError
    from opsctl.runbook.secrets import Masker
    from opsctl.runbook.session import masked_errors

    masker = Masker(["hunter2-secret"])
    with pytest.raises(RefusedError) as caught, masked_errors(masker):
        raise RefusedError("saw aHVudGVyMi1zZWNyZXQ=", hint="not hunter2-secret")
    assert str(caught.value) == "saw ***\n  hint: not ***"
    with pytest.raises(RuntimeError) as unexpected, masked_errors(masker):
        raise RuntimeError("boom hunter2-secret")
    assert str(unexpected.value) == "boom ***"
