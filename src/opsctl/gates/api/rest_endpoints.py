"""Where a body probe sends its body: the GraphQL endpoint, or a REST service's first POST.

A REST service has no one endpoint: the body probes (nested, huge and chunked JSON) take the
first operation of its OpenAPI document that accepts a JSON body, path parameters filled with
``1`` (the body limit and the JSON parser run before routing to the handler's logic).
"""

from __future__ import annotations

import re
from typing import Any

from opsctl.gates.api.probe import ProbeIncomplete, ProbeNotRun, ProbeTarget

_CACHE_KEY = "body_path"


def body_url(target: ProbeTarget) -> str:
    """The path (from the base URL) a body probe posts to."""
    if target.settings is None or target.settings.kind == "graphql":
        return target.endpoint
    cached = target.extra.get(_CACHE_KEY)
    if isinstance(cached, str):
        return cached
    path = first_json_post(_openapi(target, target.settings.openapi))
    if path is None:
        raise ProbeNotRun("the OpenAPI document has no operation that takes a JSON body")
    target.extra[_CACHE_KEY] = path
    return path


def first_json_post(document: dict[str, Any]) -> str | None:
    paths = document.get("paths")
    if not isinstance(paths, dict):
        return None
    for path, operations in paths.items():
        if not isinstance(operations, dict):
            continue
        for method in ("post", "put", "patch"):
            body = (operations.get(method) or {}).get("requestBody") or {}
            if method == "post" and "application/json" in (body.get("content") or {}):
                return re.sub(r"\{[^}]+\}", "1", str(path))
    return None


def _openapi(target: ProbeTarget, openapi: str) -> dict[str, Any]:
    answer = target.send(b"", method="GET", url=target.url(openapi))
    document = answer.json()
    if answer.status != 200 or not isinstance(document, dict):
        raise ProbeIncomplete(
            f"the OpenAPI document at {openapi} did not load: {answer.describe()}"
        )
    return document
