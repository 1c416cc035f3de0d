"""Exposure probes for any HTTP API: security headers, CORS, and a public ``/metrics``.

Headers are checked on a normal answer and on an error answer (a path that does not exist):
middleware that only decorates successful responses leaves the error pages bare.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from opsctl.gates.api.probe import Answer, ProbeFinding, ProbeTarget
from opsctl.gates.interface import Severity

FOREIGN_ORIGIN = "https://attacker.example"
MISSING_PATH = "/opsctl-probe-missing-path"


def _normal_request(target: ProbeTarget) -> tuple[str, Answer]:
    if target.settings is not None and target.settings.kind == "rest":
        return f"GET {target.health_path}", target.send(
            b"", method="GET", url=target.url(target.health_path)
        )
    body = json.dumps({"query": "query { __typename }"}).encode()
    return f"POST {target.endpoint}", target.send(body)


def security_headers(target: ProbeTarget) -> list[ProbeFinding]:
    findings = []
    sent, normal = _normal_request(target)
    missing_page = target.send(b"", method="GET", url=target.url(MISSING_PATH))
    for what, answer in ((sent, normal), (f"GET {MISSING_PATH}", missing_page)):
        headers = answer.headers
        missing = []
        if headers.get("x-content-type-options", "").lower() != "nosniff":
            missing.append("X-Content-Type-Options: nosniff")
        csp = headers.get("content-security-policy", "")
        if "x-frame-options" not in headers and "frame-ancestors" not in csp:
            missing.append("X-Frame-Options (or CSP frame-ancestors)")
        if missing:
            findings.append(
                ProbeFinding(
                    "api/exposure-security-headers",
                    f"the answer to {what} lacks {', '.join(missing)}",
                    what,
                    f"HTTP {answer.status}; headers: {dict(headers)}",
                    "add the security headers in a middleware that wraps every response",
                )
            )
    return findings


def cors(target: ProbeTarget) -> list[ProbeFinding]:
    """A foreign origin must not be allowed, least of all with credentials."""
    url = (
        target.graphql_url
        if (target.settings is None or target.settings.kind == "graphql")
        else target.url(target.health_path)
    )
    preflight = target.send(
        b"",
        method="OPTIONS",
        url=url,
        headers={
            "Origin": FOREIGN_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,authorization",
        },
    )
    allowed = preflight.headers.get("access-control-allow-origin", "")
    credentials = preflight.headers.get("access-control-allow-credentials", "").lower() == "true"
    if allowed not in (FOREIGN_ORIGIN, "*"):
        return []
    severity = Severity.ERROR if (credentials or allowed == FOREIGN_ORIGIN) else Severity.WARNING
    return [
        ProbeFinding(
            "api/exposure-cors",
            f"CORS allows the foreign origin {FOREIGN_ORIGIN} ({allowed!r}"
            + (", with credentials)" if credentials else ")"),
            f"OPTIONS {url} Origin: {FOREIGN_ORIGIN}",
            f"HTTP {preflight.status}; headers: {dict(preflight.headers)}",
            "allow only the origins of your own front ends, never reflect the Origin header",
            severity=severity,
            curl=f"curl -sS -X OPTIONS {json.dumps(url)} -H 'Origin: {FOREIGN_ORIGIN}' "
            "-H 'Access-Control-Request-Method: POST' -i",
        )
    ]


def metrics(target: ProbeTarget) -> list[ProbeFinding]:
    """Reported, not failed: some teams scrape over a private network they trust."""
    path = target.settings.metrics if target.settings is not None else "/metrics"
    answer = target.send(b"", method="GET", url=target.url(path))
    if answer.status == 200 and ("# HELP" in answer.body or "# TYPE" in answer.body):
        return [
            ProbeFinding(
                "api/exposure-metrics",
                f"{path} serves Prometheus metrics to anyone who can reach the service",
                f"GET {path}",
                answer.describe(),
                "serve metrics on a separate port or behind authentication, or accept this "
                "finding when only the scraper's network reaches the service",
                severity=Severity.WARNING,
            )
        ]
    return []


PROBES: list[Callable[[ProbeTarget], list[ProbeFinding]]] = [security_headers, cors, metrics]
