"""Denial-of-service probes. Oracle: refused within the budget and ``/healthz`` kept answering."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

from opsctl.gates.api.probe import (
    Answer,
    ProbeFinding,
    ProbeTarget,
    refused,
    responsive,
)
from opsctl.gates.api.rest_endpoints import body_url

#: Fragment chain length: each fragment spreads the next twice, 2^n steps for a naive validator.
FANOUT_LEVELS = 18
ALIASES = 101
#: graphql-cop's field duplication, at a size where graphql-core's own budget still costs ~1 s.
DUPLICATED_FIELDS = 50_000
#: graphql-armor's maxDirectives default is 50: one more than it.
DIRECTIVES = 51
NESTED_JSON_DEPTH = 10_000
#: Far above any sane query (graphql-armor's characterLimit is 15 kB), far below the probe cap.
HUGE_BODY_BYTES = 1_000_000


def _judge(
    target: ProbeTarget, probe: str, sent: str, answer: Answer, fix: str
) -> list[ProbeFinding]:
    if refused(answer) and responsive(target, answer):
        return []
    if answer.status is None:
        what = "gave no answer in time"
    elif answer.status >= 500:
        what = f"answered with a server error (HTTP {answer.status})"
    elif not refused(answer):
        what = "accepted it"
    elif answer.health_failures or answer.health_worst_s > target.budget_s:
        what = "refused it, but stopped answering its health check meanwhile"
    else:
        what = "refused it too slowly"
    return [
        ProbeFinding(
            probe=probe,
            message=f"the service {what} (budget {target.budget_s:g}s)",
            sent=sent,
            received=answer.describe(),
            fix=fix,
        )
    ]


def fragment_fanout(target: ProbeTarget) -> list[ProbeFinding]:
    target.require_graphql()
    names = [f"F{i}" for i in range(FANOUT_LEVELS)]
    fragments = [
        f"fragment {name} on Query {{ ...{names[i + 1]} ...{names[i + 1]} }}"
        for i, name in enumerate(names[:-1])
    ]
    fragments.append(f"fragment {names[-1]} on Query {{ __typename }}")
    query = "query { ...F0 } " + " ".join(fragments)
    answer = target.graphql(query, watch=True)
    return _judge(
        target,
        "api/dos-fragment-fanout",
        f"POST {target.endpoint}: {FANOUT_LEVELS} fragments, each spreading the next twice",
        answer,
        "count fragment spreads (or the validation work) before validating; reject large chains",
    )


def alias_overloading(target: ProbeTarget) -> list[ProbeFinding]:
    target.require_graphql()
    query = "query { " + " ".join(f"a{i}: __typename" for i in range(ALIASES)) + " }"
    return _judge(
        target,
        "api/dos-aliases",
        f"POST {target.endpoint}: {ALIASES} aliases of __typename",
        target.graphql(query, watch=True),
        "limit aliases per document (graphql-armor default: 15)",
    )


def deep_nesting(target: ProbeTarget) -> list[ProbeFinding]:
    target.require_graphql()
    query = "query { " + "__schema { types { fields { type { " * 1 + "ofType { " * 40
    query += "name" + " }" * 40 + " } } } } }"
    return _judge(
        target,
        "api/dos-deep-nesting",
        f"POST {target.endpoint}: a selection 44 levels deep",
        target.graphql(query, watch=True),
        "limit the query depth (graphql-armor default: 6)",
    )


def nested_json(target: ProbeTarget) -> list[ProbeFinding]:
    url = body_url(target)
    body = ("[" * NESTED_JSON_DEPTH + "]" * NESTED_JSON_DEPTH).encode()
    body = b'{"query": "{ __typename }", "variables": {"x": ' + body + b"}}"
    return _judge(
        target,
        "api/dos-nested-json",
        f"POST {url}: a JSON body nested {NESTED_JSON_DEPTH} levels deep",
        target.send(body, watch=True, url=target.url(url)),
        "parse the body with a depth limit and answer 400 (a JSON error), never a 500",
    )


def field_duplication(target: ProbeTarget) -> list[ProbeFinding]:
    """The cost is validation (OverlappingFieldsCanBeMerged), so the oracle is time, not data."""
    target.require_graphql()
    query = "query { " + "__typename " * DUPLICATED_FIELDS + "}"
    return _judge(
        target,
        "api/dos-field-duplication",
        f"POST {target.endpoint}: __typename repeated {DUPLICATED_FIELDS} times",
        target.graphql(query, watch=True),
        "limit the document's tokens before validating (graphql-armor maxTokens: 1000)",
    )


def directive_overloading(target: ProbeTarget) -> list[ProbeFinding]:
    """A known directive repeated: executed (or slow) is the hole, not the error count."""
    target.require_graphql()
    query = "query { __typename" + " @include(if: true)" * DIRECTIVES + " }"
    return _judge(
        target,
        "api/dos-directives",
        f"POST {target.endpoint}: @include repeated {DIRECTIVES} times on one field",
        target.graphql(query, watch=True),
        "limit directives per document (graphql-armor maxDirectives: 50)",
    )


def circular_introspection(target: ProbeTarget) -> list[ProbeFinding]:
    target.require_graphql()
    inner = "name"
    for _ in range(4):
        inner = f"fields {{ type {{ {inner} }} }}"
    query = f"query {{ __schema {{ types {{ {inner} }} }} }}"
    return _judge(
        target,
        "api/dos-circular-introspection",
        f"POST {target.endpoint}: introspection nested through fields and types 4 times",
        target.graphql(query, watch=True),
        "refuse introspection in production, and deep introspection everywhere "
        "(graphql-core MaxIntrospectionDepthRule)",
    )


def huge_body(target: ProbeTarget) -> list[ProbeFinding]:
    url = body_url(target)
    body = _padded_body(HUGE_BODY_BYTES)
    return _judge(
        target,
        "api/dos-huge-body",
        f"POST {url}: a {len(body)}-byte JSON body with Content-Length",
        target.send(body, watch=True, url=target.url(url)),
        "cap the request body (e.g. 100 kB) and answer 413 before reading it all",
    )


def chunked_body(target: ProbeTarget) -> list[ProbeFinding]:
    """The same body streamed without Content-Length: limits that only read the header miss it."""
    url = body_url(target)
    body = _padded_body(HUGE_BODY_BYTES)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 64_000):
            yield body[start : start + 64_000]

    return _judge(
        target,
        "api/dos-chunked-body",
        f"POST {url}: a {len(body)}-byte body, chunked, no Content-Length",
        target.send_stream(chunks(), url=target.url(url)),
        "count the bytes as they arrive and stop at the cap, whatever Content-Length says",
    )


def _padded_body(size: int) -> bytes:
    padding = "x" * (size - 60)
    return json.dumps({"query": "{ __typename }", "variables": {"padding": padding}}).encode()


def batching(target: ProbeTarget) -> list[ProbeFinding]:
    target.require_graphql()
    body = json.dumps([{"query": "{ __typename }"}] * 10).encode()
    return _judge(
        target,
        "api/dos-batching",
        f"POST {target.endpoint}: a JSON array of 10 operations",
        target.send(body, watch=True),
        "turn array batching off, or cap the operations per request",
    )


PROBES: list[Callable[[ProbeTarget], list[ProbeFinding]]] = [
    alias_overloading,
    deep_nesting,
    circular_introspection,
    directive_overloading,
    batching,
    nested_json,
    huge_body,
    chunked_body,
    field_duplication,
    fragment_fanout,  # last: a vulnerable service may stay busy after it
]
