"""The JSON report: the machine-readable record of a run, versioned (``schema_version``).

Schema: ``verify-report.schema.json`` next to this module (documented in ``docs/verify.md``).
Additive changes keep the major version; renaming or removing a key bumps it.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from importlib import resources
from typing import Any

from opsctl.gates.interface import GateResult, Status
from opsctl.reports.interface import ReportWriter, VerifyRun

SCHEMA_VERSION = "1.2"  # 1.1: exit_code 2 and status "refused"; 1.2: provenance


def schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the report."""
    text = resources.files("opsctl.reports").joinpath("verify-report.schema.json").read_text()
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def result_to_dict(result: GateResult) -> dict[str, Any]:
    return {
        "gate": result.gate,
        "status": result.status.value,
        "summary": result.summary,
        "duration_s": round(result.duration_s, 3),
        "tools": dict(result.tools),
        "reasons": list(result.reasons),
        "measurements": [asdict(m) for m in result.measurements],
        "findings": [{**asdict(f), "severity": f.severity.value} for f in result.findings],
        "details": result.details,
    }


def run_to_dict(run: VerifyRun) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "opsctl", "version": run.opsctl_version},
        "project": run.project,
        "environment": run.environment,
        "base_ref": run.base_ref,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat(),
        "duration_s": round(run.duration_s, 3),
        "partial": run.partial,
        "status": run.status,
        "exit_code": int(run.exit_code),
        "counts": {status.value: run.count(status) for status in Status},
        "provenance": dict(run.provenance),
        "notes": [*run.notes, *run.problems],
        "gates": [result_to_dict(result) for result in run.results],
    }


class JsonReport(ReportWriter):
    format = "json"

    def _render(self, run: VerifyRun) -> str:
        return json.dumps(run_to_dict(run), indent=2, sort_keys=False, default=str) + "\n"
