"""What the dependency audit says beyond pip-audit's report: real pip-audit, local OSV server."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from tests.opsctl.gates.security.helpers import copy_fixture, run_root

from opsctl.config.project import load_project
from opsctl.definition_of_done import load_definition_of_done
from opsctl.errors import ConfigError
from opsctl.gates.interface import Finding, GateResult, Severity, Status
from opsctl.gates.security.dependency_audit import (
    DependencyAudit,
    answered_nothing,
    audit_rounds,
    judge_report,
)
from opsctl.gates.security.locks.interface import LockedPackage


def service(tmp_path: Path, files: dict[str, str], done: str = "") -> Path:
    """The ``passing`` fixture with these requirements files and Definition of Done lines."""
    root = copy_fixture("passing", tmp_path)
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    if done:
        path = root / "checks" / "definition-of-done.yaml"
        path.write_text(path.read_text() + done)
    return root


def only(result: GateResult, rule: str) -> Finding:
    found = [f for f in result.findings if f.rule == rule]
    assert len(found) == 1, (rule, result.findings)
    return found[0]


@pytest.mark.slow
def test_an_entry_whose_marker_is_false_here_is_audited(tmp_path: Path) -> None:
    root = service(
        tmp_path, {"requirements.txt": 'idna==3.7\nrequests==2.19.0 ; sys_platform == "win32"\n'}
    )
    result = run_root(root)
    assert result.status is Status.FAILED, result.summary
    finding = only(result, "pip-audit/PYSEC-2018-28")
    assert (finding.file, finding.line) == ("requirements.txt", 2)
    dependencies = result.details["dependencies"]
    assert dependencies["audited"] == 2
    assert dependencies["audited_whatever_marker"] == {
        "requests==2.19.0": 'sys_platform == "win32"'
    }


@pytest.mark.slow
def test_findings_point_into_included_and_constraint_files(tmp_path: Path) -> None:
    root = service(
        tmp_path,
        {
            "requirements.txt": "-r requirements/base.txt\n-c requirements/pins.txt\nidna\n",
            "requirements/base.txt": "# shared\nrequests==2.19.0\n",
            "requirements/pins.txt": "certifi==2024.8.30\nidna==3.7\n",
        },
    )
    result = run_root(root)
    assert result.status is Status.FAILED, result.summary
    finding = only(result, "pip-audit/PYSEC-2018-28")
    assert (finding.file, finding.line) == ("requirements/base.txt", 2)
    dependencies = result.details["dependencies"]
    assert (dependencies["audited"], dependencies["not_audited"]) == (2, {})  # requests, idna
    assert dependencies["files"] == [
        "requirements.txt",
        "requirements/base.txt",
        "requirements/pins.txt",
    ]


@pytest.mark.slow
def test_a_file_without_hashes_says_its_dependencies_were_not_audited(tmp_path: Path) -> None:
    result = run_gate_passing(tmp_path)
    assert result.status is Status.PASSED, (result.summary, result.reasons)
    warning = only(result, "security/transitive-not-pinned")
    assert (warning.file, warning.severity) == ("requirements.txt", Severity.WARNING)
    assert "transitive dependencies are not pinned here and were not audited" in warning.message
    assert result.details["dependencies"]["transitive_not_pinned"] == ["requirements.txt"]


def run_gate_passing(tmp_path: Path) -> GateResult:
    return run_root(copy_fixture("passing", tmp_path))


@pytest.mark.slow
def test_private_packages_are_reported_and_never_queried(tmp_path: Path) -> None:
    root = service(
        tmp_path,
        {"requirements.txt": "requests==2.32.3\nacme-billing==1.4.0\n"
         "acme-auth @ git+https://git.acme.test/auth.git@v2\n"},
        "  private:\n    - {name: acme_billing, reason: our devpi index}\n"
        "    - {name: acme-auth, reason: built from our git}\n"
        "    - {name: acme-gone, reason: removed last year}\n",
    )  # fmt: skip
    result = run_root(root)
    assert result.status is Status.PASSED, (result.summary, result.reasons)
    dependencies = result.details["dependencies"]
    assert dependencies["private"] == {
        "acme-billing==1.4.0": "our devpi index",
        "acme-auth": "built from our git",
    }
    assert dependencies["audited"] == 1
    assert result.details["advisory_database"]["queries"] == 1  # requests only
    notes = sorted((f.line, f.message) for f in result.findings if f.rule == "security/private")
    assert notes[0] == (
        2,
        "acme-billing==1.4.0 is private (security.private: our devpi index): not audited, "
        "and never sent to a vulnerability service",
    )
    assert "2 private (not audited)" in result.summary
    unused = only(result, "security/unused-private")
    assert unused.message == "acme-gone is declared private but requirements.txt does not list it"


@pytest.mark.slow
def test_packages_the_offline_database_never_heard_of_are_listed(tmp_path: Path) -> None:
    lock = "requests==2.32.3\nreqeusts==2.31.0\nidna==3.7\n"  # a typo the index may not have
    root = service(tmp_path, {"requirements.txt": lock})
    result = run_root(root)
    assert result.status is Status.PASSED, (result.summary, result.reasons)
    assert result.details["dependencies"]["no_advisory_record"] == ["idna", "reqeusts"]
    note = only(result, "security/no-advisory-record")
    assert note.severity is Severity.NOTE and note.file == "requirements.txt"
    assert note.message.startswith(
        "2 of 3 audited packages have no record at all in the offline advisory database "
        "(idna, reqeusts)"
    )
    assert "pip-audit: 3 audited (2 with no record in the advisory DB)" in result.summary


@pytest.mark.slow
def test_an_advisory_pip_audit_cannot_read_makes_the_gate_incomplete(tmp_path: Path) -> None:
    root = service(tmp_path, {"requirements.txt": "requests==2.19.0\n"})
    record = root / "advisories" / "vulns" / "requests" / "PYSEC-2018-28.yaml"
    record.write_text("schema_version: 2.0.0\n" + record.read_text())
    result = run_root(root)
    assert result.status is Status.FAILED, result.summary  # PYSEC-2023-74 is still read
    assert (
        "pip-audit left out advisories the database matches: PYSEC-2018-28 (requests==2.19.0)"
    ) in result.reasons
    dropped = only(result, "security/advisory-not-read")
    assert (dropped.file, dropped.line) == ("requirements.txt", 1)


@pytest.mark.slow
def test_an_unreachable_service_is_one_reason_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = service(tmp_path, {"requirements.txt": "requests==2.32.3\nidna==3.7\n"})
    done = root / "checks" / "definition-of-done.yaml"
    done.write_text(done.read_text().replace("advisory_db: advisories", "advisory_db: ''"))
    shutil.rmtree(root / "advisories")
    # pip-audit's online service through a proxy that refuses: unreachable, with or without a
    # network on the machine running the tests
    for variable in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(variable, "http://127.0.0.1:9")
    for variable in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(variable, raising=False)
    result = run_root(root)
    assert result.status is Status.INCOMPLETE, result.summary
    [reason] = result.reasons
    assert reason.startswith(
        "dependencies not audited: the vulnerability service could not be reached ("
    )
    assert reason.endswith("OPSCTL_ADVISORY_DB where the Definition of Done reads it) at an "
                           "offline copy of the PyPA advisory database")  # fmt: skip
    assert "requests" not in reason and "idna" not in reason
    assert result.summary.count(";") == 1  # bandit's part, then that one reason


def test_a_service_that_knows_no_dependency_at_all_is_one_reason() -> None:
    # a blocked index answering 404 to everything: pip-audit skips every dependency
    packages = [LockedPackage("requests", "2.32.3", 1), LockedPackage("idna", "3.7", 2)]
    (expected,) = audit_rounds(packages)
    report = {
        "dependencies": [
            {"name": name, "skip_reason": f"Dependency not found on PyPI: {name}"}
            for name in ("requests", "idna")
        ]
    }
    audit = DependencyAudit()
    judge_report(report, "requirements.txt", expected, [], dt.date(2025, 1, 1), audit)
    error = answered_nothing(audit)
    assert error is not None
    assert str(error) == (
        "the vulnerability service knows none of the 2 dependencies (pip-audit: Dependency not "
        "found on PyPI: idna), so it is not reachable as it should be from here"
    )
    one = DependencyAudit(service_skips={"acme": "Dependency not found on PyPI: acme"})
    assert answered_nothing(one) is None  # one unknown package is that package's problem


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{name: acme-billing}", "security.private[0].reason: required key is missing"),
        ("{name: 'acme billing', reason: ours}", "is not a package name (PEP 508)"),
        ("{name: acme, reason: ' '}", "the reason must say something"),
    ],
)
def test_a_private_package_needs_a_name_and_a_reason(
    entry: str, message: str, tmp_path: Path
) -> None:
    root = service(tmp_path, {}, f"  private:\n    - {entry}\n")
    with pytest.raises(ConfigError) as error:
        load_definition_of_done(load_project(root / "opsctl.yaml"))
    assert str(error.value).startswith("checks/definition-of-done.yaml:")
    assert message in str(error.value)
