"""A base class for GraphQL scenarios: every request named by its operationName.

Import it from a scenario file (``loadtests/*.py``), which runs in a generator process::

    from opsctl.load.graphql import GraphQLUser

A response with ``errors`` counts as a failed request even with HTTP 200, and a body that is
not JSON is a failure, not an exception (an exception inside Locust's ``catch_response``
block would silently drop the sample).
"""

from __future__ import annotations

from typing import Any

from locust import FastHttpUser

from opsctl.load import worker_hooks

worker_hooks.register()  # a stock `locust --worker` running this scenario can join opsctl


class GraphQLUser(FastHttpUser):
    """A Locust user that talks GraphQL over HTTP POST."""

    abstract = True
    graphql_path = "/graphql"
    token: str | None = None  # sent as a Bearer token once a scenario has logged in

    def graphql(
        self, operation: str, query: str, variables: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """Run one operation; return its ``data`` (None on failure)."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        payload = {"operationName": operation, "query": query, "variables": variables or {}}
        with self.client.post(
            self.graphql_path, json=payload, headers=headers, name=operation, catch_response=True
        ) as response:
            try:
                body = response.json()
            except Exception:
                problem = getattr(response, "error", None) or "response is not JSON"
                response.failure(f"HTTP {response.status_code}: {problem}")
                return None
            errors = body.get("errors") if isinstance(body, dict) else None
            if errors or response.status_code != 200 or not isinstance(body, dict):
                first = errors[0] if isinstance(errors, list) and errors else errors
                message = first.get("message") if isinstance(first, dict) else first
                response.failure(f"HTTP {response.status_code}: GraphQL error: {message}")
                return None
            response.success()
            data = body.get("data")
            return data if isinstance(data, dict) else None
