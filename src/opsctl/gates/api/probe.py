"""What a probe is, what it reports, and the HTTP client every probe uses.

The client bounds every request in size and time, and measures a concurrent ``/healthz`` while
the probe's request is in flight: the denial-of-service oracle is "refused within the budget,
and the service stayed responsive", not merely "refused".
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from opsctl.gates.interface import Severity

if TYPE_CHECKING:
    from opsctl.gates.api.settings import ApiSettings

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
    curl: str = ""  # a command that replays what was sent


class ProbeNotRun(Exception):  # noqa: N818 (an outcome, not a failure of opsctl)
    """The probe does not apply here (no log-in flow, a REST service, a protected environment).

    Reported as *not run* with the reason, never as passed.
    """


class ProbeIncomplete(Exception):  # noqa: N818
    """The probe could not judge (the log-in failed, the service stopped answering).

    Makes the gate incomplete.
    """


@dataclass
class Answer:
    """A probe request's outcome, with the health seen while it was in flight."""

    status: int | None  # None: no answer within the wait
    body: str
    seconds: float
    health_worst_s: float  # slowest (or unanswered: the wait) /healthz during the request
    health_failures: int
    headers: dict[str, str] = field(default_factory=dict)  # names lower-cased

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
    settings: ApiSettings | None = None  # the Definition of Done's api section, when the gate runs
    protected: bool = False  # a protected environment: no unsafe family runs against it
    extra: dict[str, Any] = field(default_factory=dict)  # what one probe learns for the next
    _client: httpx.Client | None = field(default=None, init=False, repr=False, compare=False)

    def require_graphql(self) -> None:
        """:class:`ProbeNotRun` for a REST service: the calling probe speaks GraphQL."""
        if self.settings is not None and self.settings.kind != "graphql":
            raise ProbeNotRun("a GraphQL probe, and the service is REST")

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path

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
        watch: bool = False,
    ) -> Answer:
        """Send one bounded request; with ``watch``, while a thread polls the health endpoint."""
        if len(content) > MAX_BODY_BYTES:
            raise ValueError(f"probe body of {len(content)} bytes exceeds {MAX_BODY_BYTES}")
        wait = min(wait_s if wait_s is not None else max(5 * self.budget_s, 3.0), MAX_WAIT_S)
        merged = {"Content-Type": "application/json", **(headers or {})}

        def call(client: httpx.Client) -> httpx.Response:
            return client.request(
                method, url or self.graphql_url, content=content, headers=merged, timeout=wait
            )

        if watch:
            return self._watched(call, wait)
        return self._unwatched(call)

    def close(self) -> None:
        """Close the connection the unwatched requests share."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def send_stream(
        self, chunks: Iterable[bytes], *, url: str | None = None, wait_s: float | None = None
    ) -> Answer:
        """POST a body streamed in chunks (``Transfer-Encoding: chunked``, no Content-Length)."""
        wait = min(wait_s if wait_s is not None else max(5 * self.budget_s, 3.0), MAX_WAIT_S)
        headers = {"Content-Type": "application/json"}
        return self._watched(
            lambda client: client.post(url or self.graphql_url, content=chunks, headers=headers),
            wait,
        )

    def graphql(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        headers: dict[str, str] | None = None,
        wait_s: float | None = None,
        watch: bool = False,
    ) -> Answer:
        import json

        payload: dict[str, Any] = {"query": query}
        if variables:
            payload["variables"] = variables
        return self.send(json.dumps(payload).encode(), headers=headers, wait_s=wait_s, watch=watch)

    def curl(
        self,
        content: bytes,
        *,
        headers: dict[str, str] | None = None,
        method: str = "POST",
        url: str | None = None,
    ) -> str:
        """A ``curl`` command that replays a request (a long body is cut, and says so)."""
        import shlex

        parts = ["curl", "-sS", "-X", method, shlex.quote(url or self.graphql_url)]
        for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
            parts += ["-H", shlex.quote(f"{name}: {value}")]
        if content:
            text = content.decode("utf-8", "replace")
            if len(text) > 4000:
                text = text[:4000]
                parts.insert(0, f"# body cut to 4000 of {len(content)} bytes\n")
            parts += ["--data-binary", shlex.quote(text)]
        return " ".join(parts)

    def _unwatched(self, call: Callable[[httpx.Client], httpx.Response]) -> Answer:
        """One request on the shared connection (most probes judge answers, not time)."""
        client = self._client
        if client is None:
            client = self._client = httpx.Client(timeout=MAX_WAIT_S)
            # a target dropped without close() must not leave its socket to the collector
            weakref.finalize(self, client.close)
        started = time.monotonic()
        status, body, headers = _outcome(lambda: call(client))
        return Answer(status, body, time.monotonic() - started, 0.0, 0, headers)

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
        with httpx.Client(timeout=wait) as client:
            status, body, headers = _outcome(lambda: call(client))
        seconds = time.monotonic() - started
        done.set()
        watcher.join(wait + 1)
        return Answer(status, body, seconds, max(health, default=0.0), failures[0], headers)


def _outcome(call: Callable[[], httpx.Response]) -> tuple[int | None, str, dict[str, str]]:
    """Status, body and lower-cased headers; no status (None) when there was no answer."""
    try:
        response = call()
    except httpx.HTTPError as error:
        return None, f"{type(error).__name__}: {error}", {}
    headers = {name.lower(): value for name, value in response.headers.items()}
    return response.status_code, response.text, headers


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
