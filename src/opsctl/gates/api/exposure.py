"""Exposure probes for production: introspection, suggestions, stack traces in errors."""

from __future__ import annotations

import re
from collections.abc import Callable

from opsctl.gates.api.probe import ProbeFinding, ProbeTarget

_TRACE = re.compile(
    r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+|psycopg|SELECT .* FROM"
)

SUGGESTION_QUERIES = {
    "field": "query { __schema { directive } }",
    "argument": 'query { __type(nam: "Query") { name } }',
    "type": "query { ... on Quer { __typename } }",
}


def introspection(target: ProbeTarget) -> list[ProbeFinding]:
    answer = target.graphql("query { __schema { queryType { name } } }")
    document = answer.json()
    if isinstance(document, dict) and (document.get("data") or {}).get("__schema"):
        return [
            ProbeFinding(
                "api/exposure-introspection",
                "introspection answers in production",
                "POST { __schema { queryType { name } } }",
                answer.describe(),
                "turn introspection off in production (NoSchemaIntrospectionCustomRule)",
            )
        ]
    return []


def suggestions(target: ProbeTarget) -> list[ProbeFinding]:
    findings = []
    for channel, query in SUGGESTION_QUERIES.items():
        answer = target.graphql(query)
        if "did you mean" in answer.body.lower():
            findings.append(
                ProbeFinding(
                    f"api/exposure-suggestions-{channel}",
                    f"{channel} suggestions ('Did you mean') leak the schema",
                    f"POST {query}",
                    answer.describe(),
                    "validate with hide_suggestions=True in production",
                )
            )
    return findings


def error_leaks(target: ProbeTarget) -> list[ProbeFinding]:
    findings = []
    for query in ("query { ...Undefined }", "qwerty { abc }"):
        answer = target.graphql(query)
        if (answer.status or 0) >= 500 or _TRACE.search(answer.body):
            findings.append(
                ProbeFinding(
                    "api/exposure-error-leak",
                    "an invalid document got a server error or leaked internals",
                    f"POST {query}",
                    answer.describe(),
                    "answer invalid documents with a GraphQL error; mask exception text",
                )
            )
    return findings


PROBES: list[Callable[[ProbeTarget], list[ProbeFinding]]] = [
    introspection,
    suggestions,
    error_leaks,
]
