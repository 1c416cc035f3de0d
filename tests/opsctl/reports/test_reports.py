"""Report writers on a hand-built run: schemas, escaping, limits, atomic writes."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
from pathlib import Path

import jsonschema
import pytest
import xmlschema
from rich.console import Console

from opsctl.errors import ExitCode
from opsctl.gates.interface import Finding, GateResult, Measurement, Severity, Status
from opsctl.reports.console import RunSummary
from opsctl.reports.github import annotation_lines, escape_data, escape_property, write_step_summary
from opsctl.reports.interface import VerifyRun, write_atomic
from opsctl.reports.json_report import JsonReport, schema
from opsctl.reports.junit import JunitReport
from opsctl.reports.markdown import MarkdownReport
from opsctl.reports.sarif import SarifReport

SCHEMAS = Path(__file__).resolve().parents[2] / "fixtures" / "schemas"


def sample_run(findings: int = 2) -> VerifyRun:
    start = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)
    coverage = GateResult(
        gate="coverage",
        status=Status.FAILED,
        summary="total coverage 79.50% < 80.00%",
        measurements=[Measurement("total coverage", 79.5, 80, "%", ">=", False)],
        findings=[
            Finding(
                rule="coverage/diff-uncovered",
                message=f"changed lines not covered: {n}, with a % and a\nnewline",
                file="src/a,b:c.py",
                line=n,
            )
            for n in range(1, findings + 1)
        ],
        tools={"coverage.py": "7.17.5"},
        duration_s=2.5,
    )
    security = GateResult(
        gate="security",
        status=Status.INCOMPLETE,
        summary="1 dependency could not be audited",
        reasons=["1 dependency could not be audited: private-lib"],
        findings=[
            Finding(
                "security/not-audited",
                "private-lib could not be audited",
                Severity.WARNING,
                "requirements.txt",
                2,
            ),
            Finding(
                "pip-audit/PYSEC-2018-28",
                "accepted until 2099-12-31: loopback only",
                Severity.NOTE,
                "requirements.txt",
                1,
                accepted=True,
            ),
        ],
    )
    skipped = GateResult(
        gate="migrations",
        status=Status.SKIPPED,
        summary="no section",
        reasons=["the Definition of Done has no migrations section"],
    )
    return VerifyRun(
        project="svc",
        environment="local",
        results=[coverage, security, skipped],
        started_at=start,
        finished_at=start + dt.timedelta(seconds=3),
        opsctl_version="0.1.0",
    )


def test_json_report_matches_its_schema() -> None:
    document = json.loads(JsonReport().render(sample_run()))
    jsonschema.Draft202012Validator(schema()).validate(document)
    assert document["exit_code"] == 1 and document["status"] == "failed"
    assert document["counts"] == {"passed": 0, "skipped": 1, "incomplete": 1, "failed": 1}


def test_junit_report_is_valid_against_junit_10_xsd() -> None:
    text = JunitReport().render(sample_run())
    xmlschema.XMLSchema(SCHEMAS / "junit-10.xsd").validate(text)
    assert 'failures="3"' in text and 'errors="1"' in text and "<skipped" in text


def test_sarif_report_is_valid_sarif_2_1_0() -> None:
    document = json.loads(SarifReport().render(sample_run()))
    subset = json.loads((SCHEMAS / "sarif-2.1.0-subset.schema.json").read_text())
    jsonschema.Draft4Validator(subset).validate(document)
    results = document["runs"][0]["results"]
    accepted = next(r for r in results if r["ruleId"] == "pip-audit/PYSEC-2018-28")
    assert accepted["suppressions"][0]["kind"] == "external"


def test_markdown_leads_with_the_verdict() -> None:
    text = MarkdownReport().render(sample_run())
    assert text.startswith("### opsctl verify — ❌ 1 of 3 gates failed")
    assert "| coverage | ❌ failed | total coverage 79.50% < 80.00% |" in text


def test_annotations_are_escaped_and_capped_at_ten_per_level() -> None:
    lines = annotation_lines(sample_run(findings=15))
    errors = [line for line in lines if line.startswith("::error ")]
    assert len(errors) == 10
    assert errors[0] == (
        "::error file=src/a%2Cb%3Ac.py,line=1,title=coverage%3A coverage/diff-uncovered::"
        "changed lines not covered: 1, with a %25 and a%0Anewline"
    )
    assert any(line.startswith("::warning title=security%3A incomplete::") for line in lines)
    assert escape_data("100%\r\n") == "100%25%0D%0A"
    assert escape_property("a:b,c") == "a%3Ab%2Cc"


def test_step_summary_is_appended(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    write_step_summary(sample_run(), {"GITHUB_STEP_SUMMARY": str(summary)})
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("earlier step\n### opsctl verify")


def test_atomic_write_masks_secrets_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "out" / "report.json"
    write_atomic(target, '{"url": "postgresql://app:s3cret@db/app"}')
    assert target.read_text(encoding="utf-8") == '{"url": "postgresql://app:***@db/app"}'
    assert [p.name for p in target.parent.iterdir()] == ["report.json"]


def test_an_unwritable_report_is_a_report_error(tmp_path: Path) -> None:
    from opsctl.reports.interface import ReportError

    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(ReportError, match="cannot write report"):
        write_atomic(tmp_path / "file" / "report.json", "{}")


LEAKY_URL = "postgresql://app:hunter2pw@db/app"


def leaky_run() -> VerifyRun:
    """A run whose texts carry a secret: in a URL, bare, and base64-encoded."""
    run = sample_run()
    security = run.results[1]
    security.summary = f"could not reach {LEAKY_URL}"
    security.reasons = [f"pip-audit failed: connection to {LEAKY_URL} refused"]
    security.findings.append(
        Finding(
            "security/leak",
            f"connection to {LEAKY_URL} failed; password hunter2pw; "
            f"basic {base64.b64encode(b'app:hunter2pw').decode()}",
            Severity.ERROR,
            "src/app/db.py",
            3,
            help=f"check {LEAKY_URL}",
        )
    )
    security.details = {"traceback": f"OperationalError: {LEAKY_URL}", LEAKY_URL: [LEAKY_URL]}
    run.notes.append(f"interrupted while talking to {LEAKY_URL}")
    run.masker.add_url(LEAKY_URL)  # the environment's URL: known to be secret
    return run


def every_output(run: VerifyRun, tmp_path: Path) -> dict[str, str]:
    summary = tmp_path / "step-summary.md"
    write_step_summary(run, {"GITHUB_STEP_SUMMARY": str(summary)})
    console = Console(file=io.StringIO(), width=200)
    console.print(RunSummary(run))
    outputs = {
        writer.format: writer.render(run)
        for writer in (JsonReport(), JunitReport(), MarkdownReport(), SarifReport())
    }
    outputs["annotations"] = "\n".join(annotation_lines(run))
    outputs["step summary"] = summary.read_text(encoding="utf-8")
    outputs["console"] = console.file.getvalue()  # type: ignore[attr-defined]
    return outputs


def test_no_report_shows_a_secret(tmp_path: Path) -> None:
    run = leaky_run()
    for name, text in every_output(run, tmp_path).items():
        assert "hunter2pw" not in text, name
        assert base64.b64encode(b"app:hunter2pw").decode() not in text, name
        assert "postgresql://app:***@db/app" in text, name
    # the reports stay valid after masking, and the run itself is left as it was
    jsonschema.Draft202012Validator(schema()).validate(json.loads(JsonReport().render(run)))
    xmlschema.XMLSchema(SCHEMAS / "junit-10.xsd").validate(JunitReport().render(run))
    assert LEAKY_URL in run.results[1].summary


def only_skipped_run() -> VerifyRun:
    run = sample_run()
    run.results = [run.results[2]]
    return run


def test_a_run_where_every_gate_was_skipped_judged_nothing(tmp_path: Path) -> None:
    run = only_skipped_run()
    assert run.exit_code is ExitCode.INCOMPLETE and run.status == "incomplete"
    document = json.loads(JsonReport().render(run))
    jsonschema.Draft202012Validator(schema()).validate(document)
    assert document["exit_code"] == 3
    assert "no gate was judged: all 1 gate(s) were skipped" in document["notes"]
    outputs = every_output(run, tmp_path)
    assert outputs["markdown"].startswith(
        "### opsctl verify — ⚠️ no gate was judged: all 1 gate(s) were skipped"
    )
    for name in ("markdown", "console", "step summary"):
        assert "passed" not in outputs[name].replace("skipped", ""), name
    assert (
        "INCOMPLETE (no gate was judged: all 1 gate(s) were skipped) (exit 3)" in outputs["console"]
    )


def test_skipped_gates_are_counted_apart_from_passed_ones() -> None:
    run = sample_run()
    run.results = [
        GateResult(gate="security", status=Status.PASSED, summary="ok"),
        run.results[2],
    ]
    assert run.exit_code is ExitCode.OK  # one gate was judged, and passed
    text = MarkdownReport().render(run)
    assert text.startswith("### opsctl verify — ✅ 1 of 2 gates passed, 1 skipped\n")
