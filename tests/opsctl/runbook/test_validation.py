"""Invalid runbooks are rejected before anything runs, naming file, line and key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from opsctl.runbook.load import check_file

from .conftest import FIXTURES, Project

INVALID = FIXTURES / "invalid"

CASES = [
    ("unknown-key", 7, "steps[0].timout: unknown key", "did you mean 'timeout'?"),
    ("unknown-step", 9, "steps[1].http.url: unknown step reference 'helth'", None),
    ("later-step", 6, "unknown step reference 'health' (it runs later)", None),
    ("secret-in-url", 9, "secret used where it could leak (secrets.token)", "headers"),
    ("secret-in-assert", 9, "steps[0].assert: secret used where it could leak", None),
    ("no-timeout", 7, "steps[1]: step 'delete' is mutating and has no timeout", "timeout: 30s"),
    ("retry-not-idempotent", 8, "retries only when declared idempotent", "idempotent: true"),
    ("templated-sql", 9, "SQL text is never templated", None),
    ("two-types", 5, "exactly one type", None),
    ("bad-param", 5, "params.limit.default: default does not fit", None),
    ("unsafe-template", 6, "unknown name 'lipsum'", None),
]


@pytest.mark.parametrize(("name", "line", "message", "hint"), CASES)
def test_invalid_runbook_is_rejected_with_file_and_line(
    name: str, line: int, message: str, hint: str | None
) -> None:
    problems = check_file(INVALID / f"{name}.yaml", display=f"runbooks/{name}.yaml")
    assert problems, name
    text = str(problems[0])
    assert text.startswith(f"runbooks/{name}.yaml:{line}: "), text
    assert message in text
    if hint:
        assert hint in text


def test_every_invalid_fixture_has_a_case() -> None:
    assert sorted(p.stem for p in INVALID.glob("*.yaml")) == sorted(c[0] for c in CASES)


def test_validate_command_and_run_refuse_invalid_runbooks(project: Project, tmp_path: Path) -> None:
    ok = project.invoke("runbook", "validate")
    assert ok.exit_code == 0, ok.output
    assert "✓ runbooks/all-steps.yaml" in ok.output
    shutil.copy(INVALID / "no-timeout.yaml", project.root / "runbooks")
    bad = project.invoke("runbook", "validate")
    assert bad.exit_code == 2
    assert "runbooks/no-timeout.yaml:7: steps[1]" in bad.output
    run = project.invoke("runbook", "run", "no-timeout", "--env", "local")
    assert run.exit_code == 2 and "runbooks/no-timeout.yaml:7" in run.output
    assert not project.records()  # nothing ran, nothing recorded
    listed = project.invoke("runbook", "list")
    assert "invalid: runbooks/no-timeout.yaml:7" in listed.output


def test_a_runbook_limited_to_some_environments_refuses_others(project: Project) -> None:
    path = project.root / "runbooks" / "protected-write.yaml"
    path.write_text(
        path.read_text().replace(
            "owners: [team-ops]", "owners: [team-ops]\nenvironments: [staging]"
        )
    )
    result = project.invoke("runbook", "run", "protected-write", "--env", "local", "--yes")
    assert result.exit_code == 2
    assert "may not run in 'local'" in result.output


def test_environments_must_exist_in_opsctl_yaml(project: Project) -> None:
    path = project.root / "runbooks" / "protected-write.yaml"
    text = path.read_text().replace(
        "owners: [team-ops]", "owners: [team-ops]\nenvironments:\n  - stagging"
    )
    path.write_text(text)
    result = project.invoke("runbook", "validate", "protected-write")
    assert result.exit_code == 2
    assert "runbooks/protected-write.yaml:5: environments[0]: unknown environment 'stagging'" in (
        result.output
    )
