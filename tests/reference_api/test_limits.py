"""Query limits (tokens, depth, aliases), body size and content type, batching, rate limits."""

from __future__ import annotations

from tests.reference_api.conftest import make_settings
from tests.reference_api.helpers import PASSWORD, Api, error_codes, running_api

LOG_IN = """mutation($input: LogInInput!) { logIn(input: $input) { accessToken } }"""


async def test_deep_queries_are_refused_also_through_fragments(api: Api) -> None:
    session = await api.sign_up()
    nested = "{ me { id } }"
    deep = "{ workspaces { edges { node { projects { edges { node { tasks { edges { node { "
    deep += "project { workspace { projects { edges { node { tasks { edges { node { id } } } "
    deep += "} } } } } } } } } } } } } } }"
    fragments = """
      query Deep { workspaces { ...W } }
      fragment W on WorkspaceConnection { edges { node { projects { ...P } } } }
      fragment P on ProjectConnection { edges { node { tasks { ...T } } } }
      fragment T on TaskConnection { edges { node { project { tasks { ...T2 } } } } }
      fragment T2 on TaskConnection {
        edges { node { project { tasks { edges { node { id } } } } } }
      }
    """
    assert "errors" not in await api.gql(nested, token=session.access_token)
    inline = "{ ... on Query { " + deep.strip()[1:-1] + " } }"  # inline fragments count too
    for query in (deep, fragments, inline):
        payload = await api.gql(query, token=session.access_token)
        # (Deep lists are also costly: the cost rule may report the same document.)
        assert set(error_codes(payload)) == {"BAD_USER_INPUT"}
        assert any("levels deep" in error["message"] for error in payload["errors"])
        assert "data" not in payload


async def test_undefined_and_cyclic_fragments_are_validation_errors_not_crashes(api: Api) -> None:
    for query in (
        "{ ...Nope }",
        "query { me { ...A } } fragment A on User { ...B } fragment B on User { ...A }",
    ):
        payload = await api.gql(query)
        assert set(error_codes(payload)) == {"BAD_USER_INPUT"}, payload


async def test_alias_batching_is_refused(api: Api) -> None:
    session = await api.sign_up()
    ok = " ".join(f"a{i}: me {{ id }}" for i in range(15))
    too_many = " ".join(f"a{i}: me {{ id }}" for i in range(16))
    assert "errors" not in await api.gql(f"{{ {ok} }}", token=session.access_token)
    payload = await api.gql(f"{{ {too_many} }}", token=session.access_token)
    assert error_codes(payload) == ["BAD_USER_INPUT"]
    assert "aliases" in payload["errors"][0]["message"]


async def test_documents_with_too_many_tokens_are_refused_while_parsing(api: Api) -> None:
    huge = "{ " + " ".join("__typename" for _ in range(3000)) + " }"
    payload = await api.gql(huge)
    assert error_codes(payload) == ["BAD_USER_INPUT"]
    assert "tokens" in payload["errors"][0]["message"]


async def test_body_size_content_type_and_batching(api: Api) -> None:
    big = await api.client.post(
        "/graphql", json={"query": "{ me { id } }", "variables": {"pad": "x" * 200_000}}
    )
    assert big.status_code == 413
    assert big.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    form = await api.client.post("/graphql", data={"query": "{ me { id } }"})
    assert form.status_code == 415
    batch = await api.client.post("/graphql", json=[{"query": "{ me { id } }"}] * 10)
    assert batch.status_code == 400
    assert error_codes(batch.json()) == ["BAD_USER_INPUT"]
    assert "batching" in batch.json()["errors"][0]["message"]
    # Queries over GET are never executed (GET without a query serves GraphiQL in development).
    get = await api.client.get("/graphql", params={"query": "{ __typename }"})
    assert get.status_code == 405
    assert error_codes(get.json()) == ["BAD_USER_INPUT"]
    assert "data" not in get.json()


async def test_rate_limit_per_ip(clean_database: str) -> None:
    settings = make_settings(clean_database, RATE_LIMIT_PER_IP=3)
    async with running_api(settings) as api:
        statuses = [(await api.post("{ __typename }")).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = await api.post("{ __typename }")
        assert limited.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert int(limited.headers["Retry-After"]) >= 1
        metrics = (await api.client.get("/metrics")).text
        assert 'graphql_errors_total{code="RATE_LIMITED"} 2.0' in metrics
        assert (await api.client.get("/healthz")).status_code == 200


async def test_rate_limit_per_user(clean_database: str) -> None:
    settings = make_settings(clean_database, RATE_LIMIT_PER_USER=3)
    async with running_api(settings) as api:
        session = await api.sign_up()
        statuses = [
            (await api.post("{ me { id } }", token=session.access_token)).status_code
            for _ in range(4)
        ]
        assert statuses == [200, 200, 200, 429]
        assert (await api.post("{ __typename }")).status_code == 200


async def test_log_in_has_its_own_stricter_limit(clean_database: str) -> None:
    settings = make_settings(clean_database, RATE_LIMIT_LOGIN=3)
    async with running_api(settings) as api:
        session = await api.sign_up()  # the sign-up is a password attempt too: 1 of 3
        credentials = {"input": {"email": session.email, "password": PASSWORD}}
        assert "errors" not in await api.gql(LOG_IN, credentials)  # 2 of 3
        # Aliases buy nothing: one password operation per request, the others refused.
        batched = " ".join(
            f'a{i}: logIn(input: {{email: "{session.email}", password: "{PASSWORD}"}}) '
            "{ accessToken }"
            for i in range(3)
        )
        payload = await api.gql(f"mutation {{ {batched} }}")  # refused, not counted
        assert error_codes(payload) == ["BAD_USER_INPUT"]
        assert "errors" not in await api.gql(LOG_IN, credentials)  # 3 of 3
        payload = await api.gql(LOG_IN, credentials)
        assert error_codes(payload) == ["RATE_LIMITED"]
        assert payload["errors"][0]["extensions"]["retryAfter"] >= 1


async def test_costly_queries_are_refused_even_when_shallow(api: Api) -> None:
    session = await api.sign_up()
    costly = """{ workspaces(first: 100) { edges { node {
      projects(first: 100) { edges { node { tasks(first: 100) { edges { node { id } } } } } }
      } } } }"""
    variable = """query($n: Int) { workspaces(first: $n) { edges { node {
      projects(first: $n) { edges { node { tasks(first: $n) { edges { node { id } } } } } }
      } } } }"""
    fragment = """query { workspaces(first: 100) { ...W } }
      fragment W on WorkspaceConnection { edges { node { ... on Workspace {
        projects(first: 100) { edges { node { tasks(first: 100) { edges { node { id } } } } } }
      } } } }"""
    for query in (costly, variable, fragment):
        payload = await api.gql(query, token=session.access_token)
        assert error_codes(payload) == ["BAD_USER_INPUT"], payload
        assert "may return" in payload["errors"][0]["message"]
    # Realistic pages pass: 100 tasks, each with its first 20 comments.
    fine = """query($p: ID!) { project(id: $p) { tasks(first: 100) { edges { node {
      comments { edges { node { body author { name } } } } } } } } }"""
    payload = await api.gql(
        fine, {"p": "00000000-0000-4000-8000-000000000000"}, token=session.access_token
    )
    assert error_codes(payload) == ["NOT_FOUND"]
