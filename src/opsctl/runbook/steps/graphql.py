"""``graphql``: one GraphQL operation over HTTP; any ``errors`` in the answer fail the step."""

from __future__ import annotations

import json

from opsctl.runbook.model import GraphqlSpec
from opsctl.runbook.steps.http import response_value, send
from opsctl.runbook.steps.interface import StepContext, StepError, StepResult, StepType


class GraphqlStep(StepType):
    kind = "graphql"

    def describe(self, spec: GraphqlSpec) -> str:
        query = " ".join(spec.query.split())
        return f"POST {spec.url} {query} variables={json.dumps(spec.variables, default=str)}"

    def run(self, spec: GraphqlSpec, context: StepContext) -> StepResult:
        headers = {"content-type": "application/json", **spec.headers}
        payload = {"query": spec.query, "variables": spec.variables}
        response = send(context, "POST", spec.url, headers=headers, json_body=payload)
        raw = response_value(response)
        body = raw["json"] if isinstance(raw["json"], dict) else {}
        value = {"status": raw["status"], "data": body.get("data"), "errors": body.get("errors")}
        if value["errors"]:
            messages = "; ".join(
                str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in value["errors"]
            )
            raise StepError(f"GraphQL errors: {messages}", result=value)
        if response.status_code != 200 or not body:
            raise StepError(f"HTTP {response.status_code}: {response.text[:200]}", result=value)
        return StepResult(value=value, summary="GraphQL ok")
