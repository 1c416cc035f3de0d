"""JUnit XML: a ``testsuite`` per gate, a ``testcase`` per check (valid for Jenkins and GitLab).

Checks are the gate's measurements (failure below threshold, error when not measurable) and its
failing findings (one testcase each); an incomplete gate gets an ``error`` testcase naming why,
a skipped gate one ``skipped`` testcase. Kept to the Jenkins xunit ``junit-10.xsd`` shape.
"""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET

from opsctl.gates.interface import GateResult, Severity, Status
from opsctl.reports.interface import ReportWriter, VerifyRun


def _seconds(value: float) -> str:
    return f"{max(value, 0.0):.3f}"


def _case(suite: ET.Element, gate: str, name: str, duration: float = 0.0) -> ET.Element:
    return ET.SubElement(
        suite, "testcase", {"classname": f"verify.{gate}", "name": name, "time": _seconds(duration)}
    )


def _suite(
    parent: ET.Element, result: GateResult, timestamp: str, provenance: dict[str, object]
) -> dict[str, int]:
    suite = ET.SubElement(parent, "testsuite", {"name": f"opsctl verify {result.gate}"})
    properties = ET.SubElement(suite, "properties")
    for key, value in provenance.items():  # what was verified, on every suite
        if value is not None:
            ET.SubElement(properties, "property", {"name": key, "value": str(value).lower()})
    for tool, version in sorted(result.tools.items()):
        ET.SubElement(properties, "property", {"name": f"tool.{tool}", "value": version})
    ET.SubElement(properties, "property", {"name": "status", "value": result.status.value})
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}

    def add(name: str, kind: str | None = None, message: str = "", text: str = "") -> None:
        case = _case(suite, result.gate, name)
        counts["tests"] += 1
        if kind is not None:
            child = ET.SubElement(case, kind, {"message": message[:1000], "type": kind})
            child.text = text or message
            counts[{"failure": "failures", "error": "errors", "skipped": "skipped"}[kind]] += 1

    if result.status is Status.SKIPPED:
        add("gate", "skipped", "; ".join(result.reasons) or result.summary)
    for m in result.measurements:
        label = (
            m.name if m.threshold is None else f"{m.name} {m.comparison} {m.threshold:g}{m.unit}"
        )
        if m.passed is False:
            add(
                label,
                "failure",
                f"{m.render_value()} does not meet {m.comparison} {m.threshold:g}{m.unit}",
            )
        elif m.value is None and m.passed is None:
            add(label, "error", "could not be measured")
        else:
            add(label)
    seen: dict[str, int] = {}
    for f in result.findings:
        if f.severity is not Severity.ERROR or f.accepted:
            continue
        where = f"{f.file}:{f.line}" if f.file and f.line else (f.file or "")
        name = f"{f.rule} {where}".strip()
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:  # names must be unique for GitLab (first wins)
            name = f"{name} #{seen[name]}"
        add(name, "failure", f.message, f"{f.message}\n{f.help or ''}".strip())
    if result.status is not Status.SKIPPED and (
        result.reasons or result.status is Status.INCOMPLETE
    ):
        add("completeness", "error", "; ".join(result.reasons) or result.summary)
    if counts["tests"] == 0:
        add("gate")
    notes = [
        f"{f.rule} {f.file or ''}:{f.line or ''} {f.message}"
        for f in result.findings
        if f.severity is not Severity.ERROR or f.accepted
    ]
    out = ET.SubElement(suite, "system-out")
    out.text = "\n".join([result.summary, *notes])
    suite.set("tests", str(counts["tests"]))
    suite.set("failures", str(counts["failures"]))
    suite.set("errors", str(counts["errors"]))
    suite.set("skipped", str(counts["skipped"]))
    suite.set("time", _seconds(result.duration_s))
    suite.set("timestamp", timestamp)
    suite.set("hostname", socket.gethostname())
    return counts


class JunitReport(ReportWriter):
    format = "junit"

    def _render(self, run: VerifyRun) -> str:
        root = ET.Element("testsuites", {"name": "opsctl verify"})
        totals = {"tests": 0, "failures": 0, "errors": 0}
        timestamp = run.started_at.strftime("%Y-%m-%dT%H:%M:%S")
        for result in run.results:
            counts = _suite(root, result, timestamp, run.provenance)
            for key in totals:
                totals[key] += counts[key]
        for key, value in totals.items():
            root.set(key, str(value))
        root.set("time", _seconds(run.duration_s))
        ET.indent(root)
        body = ET.tostring(root, encoding="unicode")
        return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'
