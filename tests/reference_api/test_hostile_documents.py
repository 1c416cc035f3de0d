"""Documents built to make validation slow or execution wide are refused, fast, in production.

Each attack is what ``opsctl verify api`` sends; each was accepted or took seconds to hours
before the limits were memoised and budgeted (audit S1).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time

import pytest
from graphql import parse, validate
from tests.reference_api.conftest import make_settings
from tests.reference_api.helpers import Api, error_codes, running_api
from tests.reference_api.test_production import STRONG_SECRET

from reference_api.graphql_api.limits import QueryLimits, query_limits_rule
from reference_api.graphql_api.schema import build_schema

LIMITS = QueryLimits(
    max_depth=15,
    max_aliases=15,
    max_cost=50_000,
    max_fields=500,
    max_field_repeats=10,
    max_directives=20,
)


def fan_out(n: int) -> str:
    """``F0`` spreads ``F1`` twice, which spreads ``F2`` twice...: 2**n fields once expanded."""
    spreads = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(n))
    return f"query {{ ...F0 }} {spreads} fragment F{n} on Query {{ __typename }}"


def circular_introspection() -> str:
    nested = "{ name }"
    for _ in range(8):
        nested = f"{{ fields {{ type {{ ofType {nested} }} }} }}"
    return f"{{ __schema {{ types {nested} }} }}"


HOSTILE = {
    "fan-out 18": fan_out(18),
    "fan-out 40": fan_out(40),
    "101 aliases": "{ " + " ".join(f"a{i}: __typename" for i in range(101)) + " }",
    "1,999 duplicated fields": "{ " + " ".join(["__typename"] * 1999) + " }",
    "2,500 duplicated fields": "{ " + " ".join(["__typename"] * 2500) + " }",
    "50 directives": "{ " + " ".join(["__typename @include(if: true)"] * 50) + " }",
    "43 levels deep": "{ workspaces { edges { node { "
    + "projects { edges { node { workspace { " * 10
    + "id"
    + " } } } }" * 10
    + " } } }",
    "circular introspection": circular_introspection(),
    "undefined fragment": "query { ...Undefined }",
}


def _validation_seconds(document: str) -> float:
    schema, ast = build_schema(), parse(document, max_tokens=10_000)
    started = time.perf_counter()
    errors = validate(schema, ast, [query_limits_rule(LIMITS)])
    elapsed = time.perf_counter() - started
    assert errors, document[:80]
    return elapsed


def test_fan_out_validation_does_not_grow_with_two_to_the_n() -> None:
    """The regression test of S1: before, n=16 took 16 times n=12 (about 0.3 s), n=40 days."""
    small = min(_validation_seconds(fan_out(12)) for _ in range(3))
    large = min(_validation_seconds(fan_out(16)) for _ in range(3))
    assert large < max(small * 4, 0.005), (small, large)  # 2**n would be 16 times
    assert _validation_seconds(fan_out(200)) < 0.05


def test_the_work_budget_stops_any_walk() -> None:
    wide = "{ " + " ".join(f"a{i}: me {{ id }}" for i in range(60)) + " }"
    ast = parse(wide)
    tiny = dataclasses.replace(LIMITS, max_aliases=1000, work_budget=50)
    (error,) = validate(build_schema(), ast, [query_limits_rule(tiny)])
    assert "too complex to validate" in error.message


@pytest.fixture
async def production(clean_database: str) -> Api:
    settings = make_settings(clean_database, APP_ENV="production", JWT_SECRET=STRONG_SECRET)
    async with running_api(settings) as api:
        yield api  # type: ignore[misc]


@pytest.mark.parametrize("name", list(HOSTILE))
async def test_hostile_documents_are_refused_quickly_in_production(
    production: Api, name: str
) -> None:
    started = time.perf_counter()
    response = await production.post(HOSTILE[name])
    elapsed = time.perf_counter() - started
    payload = response.json()
    assert elapsed < 0.5, (name, elapsed)
    assert response.status_code == 400, payload
    assert set(error_codes(payload)) == {"BAD_USER_INPUT"}, payload
    assert "data" not in payload or payload["data"] is None
    assert all(error["extensions"]["requestId"] for error in payload["errors"])
    assert "Did you mean" not in response.text and "Traceback" not in response.text


async def test_health_answers_while_a_fan_out_is_refused(production: Api) -> None:
    attacks = [production.post(fan_out(40)) for _ in range(5)]
    health = production.client.get("/healthz")
    *refused, healthy = await asyncio.wait_for(asyncio.gather(*attacks, health), timeout=2)
    assert healthy.status_code == 200
    assert {response.status_code for response in refused} == {400}


async def test_legitimate_documents_with_fragments_still_pass(production: Api) -> None:
    document = """query { ...A ...A } fragment A on Query { __typename ...B }
                  fragment B on Query { __typename }"""
    assert "errors" not in (await production.post(document)).json()
