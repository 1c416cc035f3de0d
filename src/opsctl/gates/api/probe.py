"""What a probe is, what it reports, and the HTTP client every probe uses.

The client bounds every request in size and time, and measures a concurrent ``/healthz`` while
the probe's request is in flight: the denial-of-service oracle is "refused within the budget,
and the service stayed responsive", not merely "refused".
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from opsctl.gates.interface import Severity

#: No probe body is larger than this (the probes' own bound, whatever the service accepts).
MAX_BODY_BYTES = 2_000_000
#: An answer later than this is "no answer" (the probe gives up; the service may still work).
MAX_WAIT_S = 10.0


@dataclass(frozen=True)
class ProbeFinding:
    """One hole a probe found: stable id, what was sent, what came back, how to fix it."""

    probe: str  # stable id, e.g. "api/dos-fragment-fanout"
    message: str
    sent: str
    received: str
    fix: str
    severity: Severity = Severity.ERROR


@dataclass
class Answer:
    """A probe request's outcome, with the health seen while it was in flight."""

    status: int | None  # None: no answer within the wait
    body: str
    seconds: float
    health_worst_s: float  # slowest (or unanswered: the wait) /healthz during the request
    health_failures: int

    def json(self) -> Any:
        import json

        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def describe(self) -> str:
        status = "no answer" if self.status is None else f"HTTP {self.status}"
        return (
            f"{status} after {self.seconds:.2f}s; /healthz worst {self.health_worst_s:.2f}s, "
            f"{self.health_failures} failed; body: {self.body[:300]!r}"
        )


@dataclass
class ProbeTarget:
    """The service under probe: its base URL and where its GraphQL and health endpoints are."""

    base_url: str
    endpoint: str = "/graphql"
    health_path: str = "/healthz"
    budget_s: float = 1.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def graphql_url(self) -> str:
        return self.base_url.rstrip("/") + self.endpoint

    def send(
        self,
        content: bytes,
        *,
        headers: dict[str, str] | None = None,
        method: str = "POST",
        url: str | None = None,
        wait_s: float | None = None,
    ) -> Answer:
        """Send one bounded request while a thread polls the health endpoint."""
        if len(content) > MAX_BODY_BYTES:
            raise ValueError(f"probe body of {len(content)} bytes exceeds {MAX_BODY_BYTES}")
        wait = min(wait_s if wait_s is not None else max(5 * self.budget_s, 3.0), MAX_WAIT_S)
        merged = {"Content-Type": "application/json", **(headers or {})}
        return self._watched(
            lambda client: client.request(
                method, url or self.graphql_url, content=content, headers=merged
            ),
            wait,
        )

    def graphql(self, query: str, *, headers: dict[str, str] | None = None) -> Answer:
        import json

        return self.send(json.dumps({"query": query}).encode(), headers=headers)

    def _watched(self, call: Callable[[httpx.Client], httpx.Response], wait: float) -> Answer:
        done = threading.Event()
        health: list[float] = []
        failures = [0]

        def watch() -> None:
            with httpx.Client(timeout=wait) as client:
                while not done.is_set():
                    started = time.monotonic()
                    try:
                        ok = client.get(self.base_url.rstrip("/") + self.health_path).is_success
                    except httpx.HTTPError:
                        ok = False
                    health.append(time.monotonic() - started)
                    failures[0] += 0 if ok else 1
                    done.wait(0.05)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        started = time.monotonic()
        try:
            with httpx.Client(timeout=wait) as client:
                response = call(client)
            status: int | None = response.status_code
            body = response.text
        except httpx.HTTPError as error:
            status, body = None, f"{type(error).__name__}: {error}"
        seconds = time.monotonic() - started
        done.set()
        watcher.join(wait + 1)
        return Answer(status, body, seconds, max(health, default=0.0), failures[0])


def refused(answer: Answer) -> bool:
    """The service refused the request: a 4xx, or a GraphQL answer with errors and no data."""
    if answer.status is None or answer.status >= 500:
        return False
    if 400 <= answer.status < 500:
        return True
    document = answer.json()
    if not isinstance(document, dict):
        return False
    return bool(document.get("errors")) and not document.get("data")


def responsive(target: ProbeTarget, answer: Answer) -> bool:
    """The answer and every concurrent health check came within the budget."""
    return (
        answer.status is not None
        and answer.seconds <= target.budget_s
        and answer.health_worst_s <= target.budget_s
        and answer.health_failures == 0
    )
