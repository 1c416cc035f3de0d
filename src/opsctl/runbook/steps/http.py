"""``http``: one HTTP request, checked against the accepted statuses."""

from __future__ import annotations

from typing import Any

import httpx

from opsctl.runbook.model import HttpSpec
from opsctl.runbook.steps.interface import (
    StepContext,
    StepError,
    StepResult,
    StepTimeoutError,
    StepType,
)

MAX_TEXT = 20_000


def absolute_url(base_url: str, url: str) -> str:
    return base_url.rstrip("/") + url if url.startswith("/") else url


def send(
    context: StepContext,
    method: str,
    url: str,
    *,
    headers: dict[str, str],
    json_body: Any = None,
) -> httpx.Response:
    """One request within the step's timeout; transport errors become :class:`StepError`."""
    target = absolute_url(context.base_url, url)
    timeout = context.timeout if context.timeout is not None else 30.0
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            return client.request(method, target, headers=headers, json=json_body)
    except httpx.TimeoutException:
        raise StepTimeoutError(f"{method} {target}: no answer within {timeout:g}s") from None
    except httpx.HTTPError as error:
        raise StepError(f"{method} {target}: {type(error).__name__}: {error}") from None


def response_value(response: httpx.Response) -> dict[str, Any]:
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    return {
        "status": response.status_code,
        "headers": dict(response.headers),
        "json": body,
        "text": response.text[:MAX_TEXT],
    }


class HttpStep(StepType):
    kind = "http"

    def describe(self, spec: HttpSpec) -> str:
        body = f" json={spec.json_body!r}" if spec.json_body is not None else ""
        headers = f" headers={sorted(spec.headers)}" if spec.headers else ""
        return f"{spec.method} {spec.url}{headers}{body}"

    def run(self, spec: HttpSpec, context: StepContext) -> StepResult:
        response = send(
            context, spec.method, spec.url, headers=spec.headers, json_body=spec.json_body
        )
        value = response_value(response)
        accepted = spec.expect_status or list(range(200, 300))
        summary = f"HTTP {response.status_code}"
        if response.status_code not in accepted:
            shown = ", ".join(map(str, spec.expect_status)) if spec.expect_status else "2xx"
            raise StepError(f"{summary} (expected {shown}): {response.text[:200]}", result=value)
        return StepResult(value=value, summary=summary)
