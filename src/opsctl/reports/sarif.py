"""SARIF 2.1.0 for code scanning: every finding with a file, one run for the whole verify.

Accepted findings (``# nosec BXXX``, accepted advisories) are kept as results with a
``suppressions`` entry, so code-scanning UIs show them as dismissed rather than losing them.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from opsctl.gates.interface import Finding, Severity
from opsctl.reports.interface import ReportWriter, VerifyRun

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _fingerprint(gate: str, finding: Finding) -> str:
    key = f"{gate}|{finding.rule}|{finding.file}|{finding.message}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def _result(gate: str, finding: Finding, rule_index: int) -> dict[str, Any]:
    region: dict[str, Any] = {"startLine": finding.line or 1}
    if finding.end_line and finding.end_line >= region["startLine"]:
        region["endLine"] = finding.end_line
    result: dict[str, Any] = {
        "ruleId": finding.rule,
        "ruleIndex": rule_index,
        "level": finding.severity.value if finding.severity is not Severity.NOTE else "note",
        "message": {"text": finding.message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": finding.file},
                    "region": region,
                }
            }
        ],
        "partialFingerprints": {"opsctlFindingHash/v1": _fingerprint(gate, finding)},
        "properties": {"gate": gate},
    }
    if finding.accepted:
        result["suppressions"] = [{"kind": "external", "justification": finding.message}]
    return result


class SarifReport(ReportWriter):
    format = "sarif"

    def _render(self, run: VerifyRun) -> str:
        rules: list[dict[str, Any]] = []
        index: dict[str, int] = {}
        results: list[dict[str, Any]] = []
        for gate in run.results:
            for finding in gate.findings:
                if not finding.file:
                    continue  # SARIF is for code findings; the rest is in the other reports
                if finding.rule not in index:
                    index[finding.rule] = len(rules)
                    rule: dict[str, Any] = {
                        "id": finding.rule,
                        "shortDescription": {"text": finding.rule},
                        "properties": {"tags": [gate.gate]},
                    }
                    if finding.help and finding.help.startswith("http"):
                        rule["helpUri"] = finding.help
                    elif finding.help:
                        rule["help"] = {"text": finding.help}
                    rules.append(rule)
                results.append(_result(gate.gate, finding, index[finding.rule]))
        document = {
            "$schema": SARIF_SCHEMA,
            "version": "2.1.0",
            "runs": [
                {
                    "tool": {
                        "driver": {
                            "name": "opsctl-verify",
                            "semanticVersion": run.opsctl_version or "0.0.0",
                            "informationUri": "https://github.com/",
                            "rules": rules,
                        }
                    },
                    "automationDetails": {"id": f"opsctl-verify/{run.environment}/"},
                    "invocations": [
                        {
                            "executionSuccessful": not run.partial,
                            "exitCode": int(run.exit_code),
                        }
                    ],
                    "results": results,
                }
            ],
        }
        return json.dumps(document, indent=2) + "\n"
