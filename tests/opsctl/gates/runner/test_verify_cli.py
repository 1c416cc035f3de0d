"""`opsctl verify` end to end: exit codes, every report written and valid, GitHub Actions output.

Also exercises the command examples of docs/verify.md.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
import xmlschema
from typer.testing import CliRunner

from opsctl.cli import app
from opsctl.reports.json_report import schema

TESTS = Path(__file__).resolve().parents[3]
SECURITY = TESTS / "fixtures" / "gates" / "security"
COVERAGE = TESTS / "fixtures" / "gates" / "coverage"
SCHEMAS = TESTS / "fixtures" / "schemas"
pytestmark = pytest.mark.slow


def security_project(case: str, tmp_path: Path) -> Path:
    target = tmp_path / case
    shutil.copytree(SECURITY / case, target)
    shutil.copytree(SECURITY / "advisories", target / "advisories")
    return target


def invoke(project: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(
        app, ["--config", str(project / "opsctl.yaml"), "verify", *args], env=env
    )
    return result.exit_code, result.output


def test_failing_run_writes_every_report_valid_and_annotates_github(tmp_path: Path) -> None:
    project = security_project("bare_nosec", tmp_path)
    out = tmp_path / "reports"
    summary = tmp_path / "step-summary.md"
    code, output = invoke(
        project, "security",
        "--json", str(out / "verify.json"), "--junit", str(out / "verify.xml"),
        "--markdown", str(out / "verify.md"), "--sarif", str(out / "verify.sarif"),
        env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)},
    )  # fmt: skip
    assert code == 1, output
    document = json.loads((out / "verify.json").read_text())
    jsonschema.Draft202012Validator(schema()).validate(document)
    assert document["gates"][0]["status"] == "failed"
    xmlschema.XMLSchema(SCHEMAS / "junit-10.xsd").validate(str(out / "verify.xml"))
    sarif_schema = json.loads((SCHEMAS / "sarif-2.1.0-subset.schema.json").read_text())
    jsonschema.Draft4Validator(sarif_schema).validate(
        json.loads((out / "verify.sarif").read_text())
    )
    assert "::error file=src/app/shell.py,line=5,title=security%3A security/bare-nosec::" in output
    assert summary.read_text().startswith("### opsctl verify — ❌ 1 of 1 gates failed")
    assert (out / "verify.md").read_text() == summary.read_text()


def test_incomplete_run_exits_3_and_passing_run_exits_0(tmp_path: Path) -> None:
    code, output = invoke(security_project("unparseable", tmp_path), "security")
    assert code == 3, output
    assert "bandit could not parse 1 file(s): src/app/broken.py" in output
    code, output = invoke(security_project("passing", tmp_path), "--jobs", "1")
    assert code == 0, output
    assert "verify passed (exit 0)" in output


def test_a_gate_named_on_the_command_line_and_skipped_makes_the_run_exit_3(
    tmp_path: Path,
) -> None:
    project = security_project("passing", tmp_path)  # its Definition of Done has no coverage
    report = tmp_path / "verify.json"
    code, output = invoke(project, "security", "coverage", "--json", str(report))
    assert code == 3, output
    assert "named on the command line but skipped: coverage" in output
    document = json.loads(report.read_text())
    jsonschema.Draft202012Validator(schema()).validate(document)
    assert {g["gate"]: g["status"] for g in document["gates"]} == {
        "security": "passed",
        "coverage": "skipped",
    }
    assert document["exit_code"] == 3
    assert "named on the command line but skipped: coverage" in document["notes"]


def test_reports_say_which_commit_and_rules_were_verified(tmp_path: Path) -> None:
    import hashlib
    import subprocess

    project = security_project("passing", tmp_path)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.test"]
    subprocess.run([*git, "init", "-q"], cwd=project, check=True)
    subprocess.run([*git, "add", "-A"], cwd=project, check=True)
    subprocess.run([*git, "commit", "-qm", "x"], cwd=project, check=True)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True, check=True
    ).stdout.strip()
    out = tmp_path / "reports"  # outside the checkout: the tree stays clean
    code, output = invoke(
        project, "security", "--json", str(out / "v.json"), "--markdown", str(out / "v.md"),
        "--junit", str(out / "v.xml"),
    )  # fmt: skip
    assert code == 0, output
    provenance = json.loads((out / "v.json").read_text())["provenance"]
    dod = project / "checks" / "definition-of-done.yaml"
    assert provenance == {
        "commit": head,
        "dirty": False,
        "opsctl_yaml_sha256": hashlib.sha256((project / "opsctl.yaml").read_bytes()).hexdigest(),
        "definition_of_done_sha256": hashlib.sha256(dod.read_bytes()).hexdigest(),
    }
    assert f"Commit `{head[:12]}`" in (out / "v.md").read_text()
    assert f'name="commit" value="{head}"' in (out / "v.xml").read_text()
    xmlschema.XMLSchema(SCHEMAS / "junit-10.xsd").validate(str(out / "v.xml"))

    dod.write_text(dod.read_text() + "# lowered in the same change\n")
    invoke(project, "security", "--json", str(out / "v.json"))
    changed = json.loads((out / "v.json").read_text())["provenance"]
    assert changed["dirty"] is True
    assert changed["definition_of_done_sha256"] != provenance["definition_of_done_sha256"]


def test_docs_example_advisory_db_option(tmp_path: Path) -> None:
    # docs/verify.md: opsctl verify security --advisory-db ../advisory-database
    project = security_project("vulnerable", tmp_path)
    shutil.move(project / "advisories", tmp_path / "advisory-database")
    dod = project / "checks" / "definition-of-done.yaml"
    dod.write_text(dod.read_text().replace("advisory_db: advisories", "advisory_db: ''"))
    code, output = invoke(project, "security", "--advisory-db", str(tmp_path / "advisory-database"))
    assert code == 1, output
    assert "PYSEC-2018-28" in output


def test_docs_example_coverage_and_security_with_reports(
    tmp_path: Path, postgres_server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # docs/verify.md: opsctl verify coverage security --json verify.json --junit verify.xml
    monkeypatch.setenv("FIXTURE_DATABASE_URL", postgres_server_url)
    project = tmp_path / "svc"
    shutil.copytree(COVERAGE / "passing", project)
    shutil.copytree(SECURITY / "advisories", project / "advisories")
    (project / "requirements.txt").write_text("requests==2.32.3\n")
    config = project / "opsctl.yaml"
    config.write_text(
        config.read_text().replace("tests:", "requirements: requirements.txt\n  tests:")
    )
    with (project / "checks" / "definition-of-done.yaml").open("a") as dod:
        dod.write("security:\n  advisory_db: advisories\n")
    monkeypatch.chdir(project)
    result = CliRunner().invoke(
        app, ["verify", "coverage", "security", "--json", "verify.json", "--junit", "verify.xml"]
    )
    assert result.exit_code == 0, result.output
    document = json.loads((project / "verify.json").read_text())
    assert [(g["gate"], g["status"]) for g in document["gates"]] == [
        ("coverage", "passed"),
        ("security", "passed"),
    ]


def test_unknown_gate_is_a_usage_error(tmp_path: Path) -> None:
    code, output = invoke(security_project("passing", tmp_path), "securty")
    assert code == 2
    assert "unknown gate 'securty' (known gates: coverage, security" in output


LEAKY_GATE = """
from opsctl.gates.interface import Finding, Gate, GateResult, Status


class LeakyGate(Gate):
    name = "leaky"
    description = "repeats the database password everywhere it can"

    def skip_reason(self, context):
        return None

    def run(self, context):
        url = context.environment.database_url.get_secret_value()
        password = url.split(":")[2].split("@")[0]
        context.progress(f"connecting to {url} with {password}")
        return GateResult(
            gate="leaky",
            status=Status.FAILED,
            summary=f"login refused for {password}",
            findings=[Finding("leak/x", f"bad password {password}", file="src/app.py", line=1)],
            reasons=[f"tried {password}"],
            details={"password": password},
        )
"""


def test_the_environments_password_is_masked_in_the_console_and_every_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opsctl.gates.registry import GATES

    password = "pw-Zq8-correct-horse"
    (tmp_path / "leaky_gate.py").write_text(LEAKY_GATE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(GATES, "leaky", "leaky_gate:LeakyGate")
    monkeypatch.setenv("STAGING_DATABASE_URL", f"postgresql://app:{password}@db.internal/app")
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "definition-of-done.yaml").write_text("{}\n", encoding="utf-8")
    (tmp_path / "opsctl.yaml").write_text(
        "service: {name: svc}\n"
        "environments:\n"
        "  staging:\n"
        "    url: http://127.0.0.1:1\n"
        "    database_url: ${STAGING_DATABASE_URL}\n",
        encoding="utf-8",
    )
    out = tmp_path / "reports"
    summary = tmp_path / "step-summary.md"
    code, output = invoke(
        tmp_path, "leaky", "--env", "staging",
        "--json", str(out / "verify.json"), "--junit", str(out / "verify.xml"),
        "--markdown", str(out / "verify.md"), "--sarif", str(out / "verify.sarif"),
        env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)},
    )  # fmt: skip
    assert code == 1, output
    assert "login refused for ***" in output
    texts = {"console": output, "step summary": summary.read_text(encoding="utf-8")}
    texts |= {path.name: path.read_text(encoding="utf-8") for path in out.iterdir()}
    assert len(texts) == 6
    for name, text in texts.items():
        assert password not in text, name
