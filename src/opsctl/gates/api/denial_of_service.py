"""Denial-of-service probes. Oracle: refused within the budget and ``/healthz`` kept answering."""

from __future__ import annotations

import json
from collections.abc import Callable

from opsctl.gates.api.probe import Answer, ProbeFinding, ProbeTarget, refused, responsive

#: Fragment chain length: each fragment spreads the next twice, 2^n steps for a naive validator.
FANOUT_LEVELS = 18
ALIASES = 101
NESTED_JSON_DEPTH = 10_000


def _judge(
    target: ProbeTarget, probe: str, sent: str, answer: Answer, fix: str
) -> list[ProbeFinding]:
    if refused(answer) and responsive(target, answer):
        return []
    what = "accepted it" if not refused(answer) else "refused it too slowly"
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
    names = [f"F{i}" for i in range(FANOUT_LEVELS)]
    fragments = [
        f"fragment {name} on Query {{ ...{names[i + 1]} ...{names[i + 1]} }}"
        for i, name in enumerate(names[:-1])
    ]
    fragments.append(f"fragment {names[-1]} on Query {{ __typename }}")
    query = "query { ...F0 } " + " ".join(fragments)
    answer = target.graphql(query)
    return _judge(
        target,
        "api/dos-fragment-fanout",
        f"POST {target.endpoint}: {FANOUT_LEVELS} fragments, each spreading the next twice",
        answer,
        "count fragment spreads (or the validation work) before validating; reject large chains",
    )


def alias_overloading(target: ProbeTarget) -> list[ProbeFinding]:
    query = "query { " + " ".join(f"a{i}: __typename" for i in range(ALIASES)) + " }"
    return _judge(
        target,
        "api/dos-aliases",
        f"POST {target.endpoint}: {ALIASES} aliases of __typename",
        target.graphql(query),
        "limit aliases per document (graphql-armor default: 15)",
    )


def deep_nesting(target: ProbeTarget) -> list[ProbeFinding]:
    query = "query { " + "__schema { types { fields { type { " * 1 + "ofType { " * 40
    query += "name" + " }" * 40 + " } } } } }"
    return _judge(
        target,
        "api/dos-deep-nesting",
        f"POST {target.endpoint}: a selection 44 levels deep",
        target.graphql(query),
        "limit the query depth (graphql-armor default: 6)",
    )


def nested_json(target: ProbeTarget) -> list[ProbeFinding]:
    body = ("[" * NESTED_JSON_DEPTH + "]" * NESTED_JSON_DEPTH).encode()
    body = b'{"query": "{ __typename }", "variables": {"x": ' + body + b"}}"
    return _judge(
        target,
        "api/dos-nested-json",
        f"POST {target.endpoint}: a JSON body nested {NESTED_JSON_DEPTH} levels deep",
        target.send(body),
        "parse the body with a depth limit and answer 400 (a JSON error), never a 500",
    )


def batching(target: ProbeTarget) -> list[ProbeFinding]:
    body = json.dumps([{"query": "{ __typename }"}] * 10).encode()
    return _judge(
        target,
        "api/dos-batching",
        f"POST {target.endpoint}: a JSON array of 10 operations",
        target.send(body),
        "turn array batching off, or cap the operations per request",
    )


PROBES: list[Callable[[ProbeTarget], list[ProbeFinding]]] = [
    alias_overloading,
    deep_nesting,
    batching,
    nested_json,
    fragment_fanout,  # last: a vulnerable service may stay busy after it
]
