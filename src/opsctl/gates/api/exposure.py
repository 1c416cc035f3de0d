"""Exposure probes for production GraphQL: what an attacker learns, and what a browser can forge.

Introspection, all four suggestion channels (fields, arguments, types, enum values), an IDE,
internals in errors (stack traces, SQL, an undefined fragment crashing a validator), tracing
extensions, queries and mutations over GET, and POST bodies a cross-site form can send
(``application/x-www-form-urlencoded``, ``text/plain``, ``multipart/form-data``): the
"CORS-simple" requests a browser sends without a pre-flight, with the victim's cookies.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from urllib.parse import urlencode

from opsctl.gates.api.probe import ProbeFinding, ProbeNotRun, ProbeTarget
from opsctl.gates.interface import Severity

_TRACE = re.compile(
    r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+|psycopg|sqlalchemy|"
    r"SELECT .* FROM|KeyError|AttributeError|TypeError: "
)
_IDE = re.compile(r"graphiql|graphql-playground|graphql playground|altair|apollo sandbox", re.I)

SUGGESTION_QUERIES = {
    "field": "query { __schema { directive } }",
    "argument": 'query { __type(nam: "Query") { name } }',
    "type": "query { ... on Quer { __typename } }",
}


def introspection(target: ProbeTarget) -> list[ProbeFinding]:
    target.require_graphql()
    query = "query { __schema { queryType { name } } }"
    answer = target.graphql(query)
    document = answer.json()
    if isinstance(document, dict) and (document.get("data") or {}).get("__schema"):
        return [
            ProbeFinding(
                "api/exposure-introspection",
                "introspection answers in production",
                f"POST {query}",
                answer.describe(),
                "turn introspection off in production (NoSchemaIntrospectionCustomRule)",
                curl=target.curl(json.dumps({"query": query}).encode()),
            )
        ]
    return []


def suggestions(target: ProbeTarget) -> list[ProbeFinding]:
    target.require_graphql()
    findings = []
    for channel, query in SUGGESTION_QUERIES.items():
        findings += _suggestion(target, channel, query)
    return findings


def enum_suggestions(target: ProbeTarget) -> list[ProbeFinding]:
    """The fourth channel needs a real enum from the schema (SDL files or introspection)."""
    target.require_graphql()
    from opsctl.gates.api.schema_queries import misspelled_enum_query
    from opsctl.gates.api.schema_source import graphql_schema

    query = misspelled_enum_query(graphql_schema(target))
    if query is None:
        raise ProbeNotRun("the schema takes no enum value in any argument or input field")
    return _suggestion(target, "enum-value", query)


def _suggestion(target: ProbeTarget, channel: str, query: str) -> list[ProbeFinding]:
    answer = target.graphql(query)
    if "did you mean" not in answer.body.lower():
        return []
    return [
        ProbeFinding(
            f"api/exposure-suggestions-{channel}",
            f"{channel} suggestions ('Did you mean') leak the schema",
            f"POST {query}",
            answer.describe(),
            "validate with hide_suggestions=True in production (graphql-core >= 3.2.6)",
            curl=target.curl(json.dumps({"query": query}).encode()),
        )
    ]


def error_leaks(target: ProbeTarget) -> list[ProbeFinding]:
    """A syntax error and an undefined fragment (which crashes naive depth limiters)."""
    target.require_graphql()
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
                    curl=target.curl(json.dumps({"query": query}).encode()),
                )
            )
    return findings


def tracing(target: ProbeTarget) -> list[ProbeFinding]:
    target.require_graphql()
    answer = target.graphql("query { __typename }")
    document = answer.json()
    extensions = document.get("extensions") if isinstance(document, dict) else None
    if isinstance(extensions, dict) and {"tracing", "ftv1"} & set(extensions):
        return [
            ProbeFinding(
                "api/exposure-tracing",
                "answers carry tracing extensions (resolver timings) in production",
                "POST query { __typename }",
                answer.describe(),
                "turn tracing extensions off in production",
                severity=Severity.WARNING,
            )
        ]
    return []


def ide(target: ProbeTarget) -> list[ProbeFinding]:
    target.require_graphql()
    findings = []
    for path in dict.fromkeys((target.endpoint, "/graphiql", "/playground")):
        answer = target.send(
            b"", method="GET", url=target.url(path), headers={"Accept": "text/html"}
        )
        if answer.status == 200 and _IDE.search(answer.body):
            findings.append(
                ProbeFinding(
                    "api/exposure-ide",
                    f"a GraphQL IDE is served at {path} in production",
                    f"GET {path} (Accept: text/html)",
                    answer.describe(),
                    "serve no IDE in production (e.g. Strawberry graphql_ide=None)",
                )
            )
    return findings


def get_operations(target: ProbeTarget) -> list[ProbeFinding]:
    """GET queries are a warning (cacheable, logged URLs); GET mutations are forgeable: error."""
    target.require_graphql()
    findings = []
    for kind, query, severity in (
        ("query", "query { __typename }", Severity.WARNING),
        ("mutation", "mutation { __typename }", Severity.ERROR),
    ):
        url = target.graphql_url + "?" + urlencode({"query": query})
        answer = target.send(b"", method="GET", url=url)
        if _executed(answer.json()):
            findings.append(
                ProbeFinding(
                    f"api/exposure-get-{kind}",
                    f"a {kind} over GET was executed (any link or <img> can send it)",
                    f"GET {target.endpoint}?query={query}",
                    answer.describe(),
                    "accept operations over POST with a JSON body only",
                    severity=severity,
                    curl=f"curl -sS {json.dumps(url)}",
                )
            )
    return findings


def forgeable_bodies(target: ProbeTarget) -> list[ProbeFinding]:
    """The bodies a cross-site form or fetch without pre-flight can send, with cookies."""
    target.require_graphql()
    query = "mutation { __typename }"
    bodies = {
        "application/x-www-form-urlencoded": urlencode({"query": query}).encode(),
        "text/plain": json.dumps({"query": query}).encode(),
        "multipart/form-data; boundary=opsctl": (
            b'--opsctl\r\nContent-Disposition: form-data; name="operations"\r\n\r\n'
            + json.dumps({"query": query}).encode()
            + b'\r\n--opsctl\r\nContent-Disposition: form-data; name="map"\r\n\r\n{}\r\n'
            + b"--opsctl--\r\n"
        ),
    }
    findings = []
    for content_type, body in bodies.items():
        answer = target.send(body, headers={"Content-Type": content_type})
        if _executed(answer.json()):
            findings.append(
                ProbeFinding(
                    "api/exposure-csrf-content-type",
                    f"a mutation sent as {content_type.split(';')[0]} was executed "
                    "(a cross-site form can send it without a pre-flight)",
                    f"POST {target.endpoint} Content-Type: {content_type}",
                    answer.describe(),
                    "accept application/json only (answer 415 otherwise)",
                    curl=target.curl(body, headers={"Content-Type": content_type}),
                )
            )
    return findings


def _executed(document: object) -> bool:
    if isinstance(document, list):
        return any(_executed(item) for item in document)
    return isinstance(document, dict) and bool((document.get("data") or {}).get("__typename"))


PROBES: list[Callable[[ProbeTarget], list[ProbeFinding]]] = [
    introspection,
    suggestions,
    enum_suggestions,
    error_leaks,
    tracing,
    ide,
    get_operations,
    forgeable_bodies,
]
