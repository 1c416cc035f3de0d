"""APP_ENV=production: no introspection, GraphiQL or suggestions, masked errors, strong secret."""

from __future__ import annotations

import pytest
from tests.reference_api.conftest import make_settings
from tests.reference_api.helpers import (
    TEST_ENVIRONMENT,
    Api,
    captured_json_logs,
    error_codes,
    running_api,
)

from reference_api.app import create_app
from reference_api.config import Settings, SettingsError

#: A secret as ``secrets.token_urlsafe(32)`` makes one (fixed so that runs are repeatable).
STRONG_SECRET = "-SzlwZI0UF4q5rF1zhlnobcYKlKpkW5THQXBUyje7ps"


def _production(database_url: str) -> Settings:
    return make_settings(database_url, APP_ENV="production", JWT_SECRET=STRONG_SECRET)


async def test_introspection_and_graphiql_are_off(clean_database: str) -> None:
    async with running_api(_production(clean_database)) as api:
        payload = await api.gql("{ __schema { types { name } } }")
        assert error_codes(payload) == ["BAD_USER_INPUT"]
        assert "data" not in payload
        assert "errors" in await api.gql('{ __type(name: "User") { name } }')
        page = await api.client.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 405
        assert "graphiql" not in page.text.lower()
        assert "Strict-Transport-Security" in page.headers


async def test_development_serves_graphiql_and_introspection(api: Api) -> None:
    page = await api.client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
    assert (await api.data("{ __schema { queryType { name } } }"))["__schema"]


@pytest.mark.parametrize(
    "query",
    [
        "{ mee { id } }",  # field
        '{ workspace(idd: "x") { id } }',  # argument
        "query($s: TaskStatu) { me { id } }",  # type
        '{ project(id: "x") { tasks(status: DON) { totalCount } } }',  # enum value
    ],
)
async def test_no_did_you_mean_in_production(clean_database: str, query: str) -> None:
    async with running_api(_production(clean_database)) as production:
        hidden = await production.gql(query)
    async with running_api(make_settings(clean_database)) as development:
        shown = await development.gql(query)
    assert "Did you mean" in str(shown)
    assert "Did you mean" not in str(hidden)
    assert error_codes(hidden) and set(error_codes(hidden)) == {"BAD_USER_INPUT"}


async def test_no_did_you_mean_for_variables_in_production(clean_database: str) -> None:
    query = 'query($s: TaskStatus) { project(id: "x") { tasks(status: $s) { totalCount } } }'
    async with running_api(_production(clean_database)) as api:
        response = await api.post(query, {"s": "DON"})
    assert "Did you mean" not in response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_unexpected_errors_are_masked_and_logged_with_the_request_id(
    clean_database: str,
) -> None:
    broken = clean_database.rsplit("/", 1)[0] + "/no_such_database_for_reference_api"
    signup = (
        'mutation { signUp(input: {email: "a@b.cd", password: "long enough", name: "A"}) '
        "{ accessToken } }"
    )
    production = make_settings(broken, APP_ENV="production", JWT_SECRET=STRONG_SECRET)
    with captured_json_logs() as lines:
        async with running_api(production) as api:
            payload = await api.gql(signup)
        async with running_api(make_settings(broken)) as api:
            verbose = await api.gql(signup)
    error = payload["errors"][0]
    assert error["message"] == "Internal server error"
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "no_such_database" not in str(payload)
    assert "no_such_database" in str(verbose)  # development shows what went wrong
    logged = [line for line in lines() if line["level"] == "ERROR"]
    assert error["extensions"]["requestId"] in [line["requestId"] for line in logged]
    assert all("Traceback" in line["exception"] for line in logged)
    assert "long enough" not in str(lines())  # the password in the query is never logged


@pytest.mark.parametrize("secret", [None, "short", "changeme" * 1, "secret"])
def test_production_refuses_a_weak_jwt_secret(secret: str | None) -> None:
    environment = {**TEST_ENVIRONMENT, "DATABASE_URL": "postgresql://x/y", "APP_ENV": "production"}
    environment.pop("JWT_SECRET")
    if secret is not None:
        environment["JWT_SECRET"] = secret
    with pytest.raises(SettingsError, match="JWT_SECRET"):
        Settings.from_environ(environment)


def test_development_makes_up_a_secret_when_none_is_set() -> None:
    environment = {**TEST_ENVIRONMENT, "DATABASE_URL": "postgresql://x/y"}
    environment.pop("JWT_SECRET")
    first = Settings.from_environ(environment).jwt_secret.get_secret_value()
    second = Settings.from_environ(environment).jwt_secret.get_secret_value()
    assert len(first) >= 32
    assert first != second


def test_create_app_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://x/y")
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("JWT_SECRET", "weak")
    with pytest.raises(SettingsError, match="JWT_SECRET"):
        create_app()
