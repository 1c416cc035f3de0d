"""Read what a schemathesis run left behind: its JSON summary, NDJSON events and JUnit report.

Each report holds a part the others lack. The JSON summary has the counts (operations,
test cases, why the run stopped), but it is written only when the run ends; the NDJSON event
stream is written as the run goes (so it tells how far a stopped run got) and names the check
behind each failure with the request and response; the JUnit report has the ``curl``
reproduction schemathesis gives for each failing test case, and the per-operation errors.
"""

from __future__ import annotations

import base64
import json
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

JSON_REPORT = "report.json"
NDJSON_REPORT = "events.ndjson"
JUNIT_REPORT = "junit.xml"


@dataclass
class Failure:
    """One failed check on one test case, with the exchange that failed it."""

    operation: str  # "GET /items/{item_id}" or "Query.square"
    check: str  # "not_a_server_error"
    code: str  # "ST101"
    title: str
    message: str
    severity: str  # schemathesis' own: critical, high, medium, low
    case_id: str
    request: str = ""  # "GET http://…/items/100"
    request_body: str = ""
    status: int | None = None
    response_body: str = ""
    curl: str = ""


@dataclass
class Report:
    """What a run did and found; ``None`` counts: that report is missing."""

    version: str = ""
    command: str = ""
    fatal: str = ""  # the run stopped before testing (the schema did not load, a crash)
    stop_reason: str = ""  # completed, interrupted, max_time, failure_limit, error
    operations: int | None = None  # selected for testing
    examples: int | None = None  # test cases generated
    tried: set[str] = field(default_factory=set)  # operations that reached the fuzzing phase
    skipped: dict[str, str] = field(default_factory=dict)  # operation → why it was not fuzzed
    errors: dict[str, str] = field(default_factory=dict)  # operation → first error
    failures: list[Failure] = field(default_factory=list)
    found_any_report: bool = False


def read(directory: Path) -> Report:
    """Everything the three reports in ``directory`` tell (a missing report tells nothing)."""
    report = Report()
    _read_events(directory / NDJSON_REPORT, report)
    _read_summary(directory / JSON_REPORT, report)
    _read_junit(directory / JUNIT_REPORT, report)
    return report


def _read_summary(path: Path, report: Report) -> None:
    document = _json_file(path)
    if not isinstance(document, dict):
        return
    report.found_any_report = True
    report.version = str(document.get("schemathesis_version") or report.version)
    report.command = str(document.get("command") or report.command)
    report.stop_reason = str(document.get("stop_reason") or report.stop_reason)
    operations = document.get("operations")
    if isinstance(operations, dict) and isinstance(operations.get("selected"), int):
        report.operations = operations["selected"]
    cases = document.get("test_cases")
    if isinstance(cases, dict) and isinstance(cases.get("generated"), int):
        report.examples = cases["generated"]


def _read_events(path: Path, report: Report) -> None:
    """Stream the events: the file grows with every test case, so it is read line by line."""
    if not path.is_file():
        return
    report.found_any_report = True
    cases = 0
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                continue  # the last line of a killed run may be cut
            if not isinstance(event, dict) or len(event) != 1:
                continue
            ((kind, body),) = event.items()
            if not isinstance(body, dict):
                continue
            if kind == "Initialize":
                report.version = str(body.get("schemathesis_version", ""))
                report.command = str(body.get("command", ""))
            elif kind == "LoadingFinished":
                statistic = body.get("statistic") or {}
                selected = (statistic.get("operations") or {}).get("selected")
                if isinstance(selected, int):
                    report.operations = selected
            elif kind == "FatalError":
                exception = body.get("exception") or {}
                report.fatal = f"{exception.get('type', 'error')}: {exception.get('message', '')}"
            elif kind == "EngineFinished":
                report.stop_reason = str(body.get("stop_reason", ""))
            elif kind == "ScenarioFinished":
                cases += _scenario(body, report)
    if report.examples is None:
        report.examples = cases


def _scenario(body: dict[str, Any], report: Report) -> int:
    """Record one finished scenario; returns its number of test cases."""
    recorder = body.get("recorder") or {}
    label = str(recorder.get("label", ""))
    if body.get("phase") == "fuzzing" and body.get("status") in {"success", "failure"}:
        report.tried.add(label)
    elif body.get("phase") == "fuzzing" and body.get("status") == "skip":
        report.skipped.setdefault(label, str(body.get("skip_reason") or "skipped"))
    interactions = recorder.get("interactions") or {}
    for case_id, checks in (recorder.get("checks") or {}).items():
        for check in checks or []:
            info = (check.get("failure_info") or {}).get("failure")
            if check.get("status") != "failure" or not isinstance(info, dict):
                continue
            failure = Failure(
                operation=str(info.get("operation") or label),
                check=str(check.get("name", "")),
                code=str(info.get("code", "")),
                title=str(info.get("title", "")),
                message=str(info.get("message", "")),
                severity=str(info.get("severity", "")),
                case_id=str(case_id),
            )
            _exchange(failure, interactions.get(case_id))
            report.failures.append(failure)
    return len(recorder.get("cases") or {})


def _exchange(failure: Failure, interaction: Any) -> None:
    if not isinstance(interaction, dict):
        return
    request = interaction.get("request") or {}
    failure.request = f"{request.get('method', '')} {request.get('uri', '')}".strip()
    failure.request_body = _content(request.get("body"))
    response = interaction.get("response") or {}
    if isinstance(response.get("status_code"), int):
        failure.status = response["status_code"]
    failure.response_body = _content(response.get("content"))


def _content(value: Any) -> str:
    """A recorded body: ``{"$base64": …}`` or plain text."""
    if isinstance(value, dict) and isinstance(value.get("$base64"), str):
        return base64.b64decode(value["$base64"]).decode("utf-8", "replace")
    return value if isinstance(value, str) else ""


_CASE = re.compile(r"^\d+\. Test Case ID: (\S+)\s*$", re.MULTILINE)
_REPRODUCE = re.compile(r"Reproduce with:\n\n(?P<curl>.+?)(?:\n\n|\Z)", re.DOTALL)


def _read_junit(path: Path, report: Report) -> None:
    """The curl of each failing test case, and each operation's errors."""
    if not path.is_file():
        return
    # The file is written by our own schemathesis child (the service's bytes are escaped text
    # in it, so it holds no entity declarations from outside): the stdlib parser is safe here.
    from xml.etree import ElementTree

    try:
        root = ElementTree.parse(path).getroot()  # noqa: S314
    except ElementTree.ParseError:
        return
    report.found_any_report = True
    curls: dict[str, str] = {}
    for testcase in root.iter("testcase"):
        label = testcase.get("name", "")
        for element in testcase.iter("failure"):
            curls.update(_curls(element.text or ""))
        for error in testcase.iter("error"):
            report.errors.setdefault(label, (error.text or "").strip()[:500])
    for failure in report.failures:
        failure.curl = curls.get(failure.case_id, "")


def _curls(text: str) -> dict[str, str]:
    """``{test case id: curl}`` from one JUnit failure text (one block per test case)."""
    found: dict[str, str] = {}
    marks = list(_CASE.finditer(text))
    for index, mark in enumerate(marks):
        end = marks[index + 1].start() if index + 1 < len(marks) else len(text)
        reproduce = _REPRODUCE.search(text, mark.end(), end)
        if reproduce is not None:
            found[mark.group(1)] = textwrap.dedent(reproduce.group("curl")).strip()
    return found


def _json_file(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
