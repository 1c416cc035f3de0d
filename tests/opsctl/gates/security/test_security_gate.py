"""The security gate on tiny fixture projects: real bandit, real pip-audit, a local OSV server."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from tests.opsctl.gates.security.helpers import copy_fixture, run_gate, run_root

from opsctl.config.project import load_project
from opsctl.definition_of_done import load_definition_of_done
from opsctl.errors import ConfigError
from opsctl.gates.interface import GateResult, Severity, Status

pytestmark = pytest.mark.slow


def rules(result: GateResult, severity: Severity = Severity.ERROR) -> set[str]:
    return {f.rule for f in result.findings if f.severity is severity and not f.accepted}


def test_clean_project_passes_and_reports_what_it_checked(tmp_path: Path) -> None:
    result = run_gate("passing", tmp_path)
    assert result.status is Status.PASSED, (result.summary, result.reasons)
    assert result.details["dependencies"]["audited"] == 1
    assert result.details["advisory_database"]["newest_modified"].startswith("2023-06-05")
    assert result.details["advisory_database"]["queries"] == 1
    nosec = next(f for f in result.findings if f.rule == "bandit/B101")
    assert nosec.accepted and "suppressed by '# nosec B101'" in nosec.message
    assert set(result.tools) == {"bandit", "pip-audit"}


def test_bandit_high_finding_fails_with_file_and_line(tmp_path: Path) -> None:
    result = run_gate("bandit_high", tmp_path)
    assert result.status is Status.FAILED
    finding = next(f for f in result.findings if f.rule == "bandit/B602")
    assert (finding.file, finding.line, finding.severity) == ("src/app/shell.py", 5, Severity.ERROR)
    assert "severity HIGH" in finding.message


def test_a_file_bandit_cannot_parse_makes_the_gate_incomplete(tmp_path: Path) -> None:
    result = run_gate("unparseable", tmp_path)
    assert result.status is Status.INCOMPLETE
    assert result.details["bandit"]["unparseable_files"] == ["src/app/broken.py"]
    assert "src/app/broken.py" in result.reasons[0]


def test_bare_nosec_suppresses_nothing_and_is_reported(tmp_path: Path) -> None:
    result = run_gate("bare_nosec", tmp_path)
    assert result.status is Status.FAILED
    assert rules(result) == {"bandit/B602", "security/bare-nosec"}
    bare = next(f for f in result.findings if f.rule == "security/bare-nosec")
    assert (bare.file, bare.line) == ("src/app/shell.py", 5)


def test_known_advisory_fails_naming_it_and_the_fix(tmp_path: Path) -> None:
    result = run_gate("vulnerable", tmp_path)
    assert result.status is Status.FAILED
    assert rules(result) == {"pip-audit/PYSEC-2018-28", "pip-audit/PYSEC-2023-74"}
    finding = next(f for f in result.findings if f.rule == "pip-audit/PYSEC-2018-28")
    assert "requests==2.19.0" in finding.message and "2.20.0" in finding.message
    assert (finding.file, finding.line) == ("requirements.txt", 1)


def test_a_dependency_that_cannot_be_audited_makes_it_incomplete(tmp_path: Path) -> None:
    result = run_gate("unauditable", tmp_path)
    assert result.status is Status.INCOMPLETE
    assert list(result.details["dependencies"]["not_audited"]) == ["private-lib"]
    assert "private-lib" in result.reasons[0]
    skipped = next(f for f in result.findings if f.rule == "security/not-audited")
    assert (skipped.file, skipped.line) == ("requirements.txt", 2)


def test_accepted_findings_pass_and_are_still_reported(tmp_path: Path) -> None:
    result = run_gate("accepted", tmp_path)
    assert result.status is Status.PASSED
    accepted = {f.rule for f in result.findings if f.accepted and f.rule.startswith("pip-audit/")}
    # the second acceptance names the CVE alias, not the PYSEC id
    assert accepted == {"pip-audit/PYSEC-2018-28", "pip-audit/PYSEC-2023-74"}


def test_an_expired_acceptance_stops_suppressing_and_says_so(tmp_path: Path) -> None:
    result = run_gate("expired", tmp_path)
    assert result.status is Status.FAILED
    expired = next(f for f in result.findings if f.rule == "pip-audit/PYSEC-2018-28")
    assert not expired.accepted and "acceptance expired on 2020-01-31" in expired.message


def test_a_stale_advisory_database_makes_the_gate_incomplete(tmp_path: Path) -> None:
    result = run_gate("stale_db", tmp_path)
    assert result.status is Status.INCOMPLETE
    assert "more than max_advisory_age_days 30" in result.reasons[0]
    age = next(m for m in result.measurements if m.name == "advisory database age")
    assert age.passed is False and age.threshold == 30


def test_an_acceptance_without_reason_is_a_configuration_error(tmp_path: Path) -> None:
    project = load_project(copy_fixture("missing_reason", tmp_path) / "opsctl.yaml")
    with pytest.raises(ConfigError) as error:
        load_definition_of_done(project)
    assert str(error.value) == (
        "checks/definition-of-done.yaml:3: security.accepted[0].reason: required key is missing"
    )


def test_a_source_without_python_files_is_incomplete_not_passed(tmp_path: Path) -> None:
    result = run_gate("empty_source", tmp_path)
    assert result.status is Status.INCOMPLETE, result.summary
    assert result.details["bandit"]["files_scanned"] == 0
    assert "bandit scanned no Python file in service.source (src/app)" in result.reasons
    assert "in 0 file(s)" in result.summary


def test_a_requirements_file_without_dependencies_is_incomplete(tmp_path: Path) -> None:
    result = run_gate("no_dependencies", tmp_path)
    assert result.status is Status.INCOMPLETE, result.summary
    assert result.details["dependencies"]["audited"] == 0
    assert result.reasons == ["requirements.txt lists no dependency: pip-audit audited nothing"]


def test_a_bandit_config_in_the_source_is_ignored_and_reported(tmp_path: Path) -> None:
    # bandit itself applies the first .bandit under its targets (here: skips = B602)
    result = run_gate("bandit_config", tmp_path)
    assert result.status is Status.FAILED, result.summary
    assert rules(result) == {"bandit/B602"}
    ignored = next(f for f in result.findings if f.rule == "security/bandit-config-ignored")
    assert (ignored.file, ignored.severity) == ("src/app/.bandit", Severity.WARNING)
    assert result.details["bandit"]["files_scanned"] == 3  # bandit's own count


def test_a_bandit_test_id_can_be_accepted_until_it_expires(tmp_path: Path) -> None:
    result = run_gate("bandit_accepted", tmp_path)
    assert result.status is Status.PASSED, result.summary
    accepted = next(f for f in result.findings if f.rule == "bandit/B602")
    assert accepted.accepted and accepted.severity is Severity.NOTE
    assert "accepted until 2099-12-31: the command comes from" in accepted.message

    expired = run_gate("bandit_accepted", tmp_path / "later", today=dt.date(2100, 1, 1))
    assert expired.status is Status.FAILED
    finding = next(f for f in expired.findings if f.rule == "bandit/B602")
    assert not finding.accepted and finding.severity is Severity.ERROR
    assert "its acceptance expired on 2099-12-31" in finding.message
    # reported once, on the finding, not again as an unused expired entry
    assert not any(f.rule == "security/expired-acceptance" for f in expired.findings)


def test_dependencies_turned_off_are_named_in_the_summary(tmp_path: Path) -> None:
    root = copy_fixture("passing", tmp_path)
    done = root / "checks" / "definition-of-done.yaml"
    text = done.read_text().replace("security:\n", "security:\n  dependencies: false\n", 1)
    done.write_text(text)
    result = run_root(root)
    assert "dependencies not audited (security.dependencies: false)" in result.summary
