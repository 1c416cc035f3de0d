"""Probe findings as gate findings, and the ones the Definition of Done accepts.

A finding points at the Definition of Done's ``api`` section (where it would be accepted), so
that SARIF and code-scanning UIs can place it.

As for security findings: an accepted finding stays in every report as a note (never lost);
from the day after ``expires`` it fails again, and an acceptance that matched nothing is
reported, so the list cannot rot silently.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from opsctl.gates.api.probe import ProbeFinding
from opsctl.gates.api.settings import AcceptedProbe
from opsctl.gates.interface import Finding, Severity


def apply_acceptance(
    accepted: list[AcceptedProbe],
    found: list[ProbeFinding],
    location: tuple[str, int | None],
    *,
    today: dt.date | None = None,
) -> tuple[list[Finding], list[Finding]]:
    """The gate's findings, and notes about the acceptance list itself."""
    today = today or dt.datetime.now(dt.UTC).date()
    by_probe = {entry.probe: entry for entry in accepted}
    used: set[str] = set()
    findings: list[Finding] = []
    for probe in found:
        finding = to_finding(probe, location)
        entry = by_probe.get(probe.probe)
        if entry is not None:
            used.add(entry.probe)
            if entry.expires >= today:
                finding = dataclasses.replace(
                    finding,
                    severity=Severity.NOTE,
                    accepted=True,
                    message=f"{finding.message}; accepted until {entry.expires}: {entry.reason}",
                )
            else:
                finding = dataclasses.replace(
                    finding,
                    message=f"{finding.message}; its acceptance expired on {entry.expires} "
                    f"({entry.reason})",
                )
        findings.append(finding)
    notes = [
        Finding(
            rule="api/unused-acceptance",
            message=f"api.accepted lists {entry.probe}, which found nothing: remove the entry",
            severity=Severity.WARNING,
            file=location[0],
            line=location[1],
        )
        for entry in accepted
        if entry.probe not in used
    ]
    return findings, notes


def to_finding(probe: ProbeFinding, location: tuple[str, int | None]) -> Finding:
    """A probe's finding as a gate finding: what was sent and what came back in the message."""
    received = probe.received if len(probe.received) <= 300 else probe.received[:300] + "…"
    details: dict[str, Any] = {"sent": probe.sent, "received": received}
    return Finding(
        rule=probe.probe,
        message=f"{probe.message}; sent {details['sent']}; got {details['received']}",
        severity=probe.severity,
        file=location[0],
        line=location[1],
        help=probe.fix + (f" (replay: {probe.curl})" if probe.curl else ""),
    )
