"""One request, one password hash; password attempts limited per address (/64) and account.

Before: sixteen aliased ``signUp`` fields made sixteen argon2 hashes and as many accounts
(audit S2), and the log-in limit was keyed by the client's address alone (S5).
"""

from __future__ import annotations

import httpx
import pytest
import sqlalchemy as sa
from tests.reference_api.conftest import make_settings
from tests.reference_api.helpers import PASSWORD, Api, ContextFactory, error_codes, running_api

from reference_api.database import to_sqlalchemy_url
from reference_api.domain.errors import RateLimitedError
from reference_api.ratelimit.keys import address_bucket
from reference_api.security.passwords import PasswordService
from reference_api.services import auth

LOG_IN = "mutation($input: LogInInput!) { logIn(input: $input) { accessToken } }"


def _sign_ups(count: int) -> str:
    fields = " ".join(
        f'a{i}: signUp(input: {{email: "flood{i}@example.test", password: "{PASSWORD}",'
        ' name: "F"}) { expiresIn }'
        for i in range(count)
    )
    return f"mutation {{ {fields} }}"


def _count_users(database_url: str) -> int:
    engine = sa.create_engine(to_sqlalchemy_url(database_url), poolclass=sa.NullPool)
    try:
        with engine.connect() as connection:
            return int(connection.scalar(sa.text("SELECT count(*) FROM users")) or 0)
    finally:
        engine.dispose()


async def test_aliased_sign_ups_make_one_account_and_one_hash(
    api: Api, clean_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    hashed: list[str] = []
    original = PasswordService.hash

    async def counting(self: PasswordService, password: str) -> str:
        hashed.append(password)
        return await original(self, password)

    monkeypatch.setattr(PasswordService, "hash", counting)
    payload = await api.gql(_sign_ups(12))
    # Refused while validating, before anything runs: no hash, no account.
    assert error_codes(payload) == ["BAD_USER_INPUT"]
    assert "12 password-hashing fields" in payload["errors"][0]["message"]
    assert hashed == [] and _count_users(clean_database) == 0
    # Also through fragments, and a log-in counts like a sign-up.
    mixed = """mutation { ...S a: logIn(input: {email: "a@b.cd", password: "xxxxxxxx"}) {
        expiresIn } } fragment S on Mutation { s: signUp(input: {email: "s@b.cd",
        password: "xxxxxxxx", name: "S"}) { expiresIn } }"""
    assert error_codes(await api.gql(mixed)) == ["BAD_USER_INPUT"]
    assert "errors" not in await api.gql(_sign_ups(1))
    assert len(hashed) == 1 and _count_users(clean_database) == 1


async def test_a_taken_email_is_refused_before_hashing(api: Api) -> None:
    session = await api.sign_up()
    again = await api.gql(
        "mutation($i: SignUpInput!) { signUp(input: $i) { expiresIn } }",
        {"i": {"email": session.email, "password": PASSWORD, "name": "B"}},
    )
    assert error_codes(again) == ["BAD_USER_INPUT"]
    assert again["errors"][0]["extensions"]["field"] == "email"


async def test_the_budget_is_configurable(clean_database: str) -> None:
    settings = make_settings(clean_database, MAX_PASSWORD_HASHES_PER_REQUEST=3)
    async with running_api(settings) as api:
        assert error_codes(await api.gql(_sign_ups(4))) == ["BAD_USER_INPUT"]
        assert "errors" not in await api.gql(_sign_ups(3))
    assert _count_users(clean_database) == 3


async def test_the_request_context_enforces_the_budget_too(
    context_for: ContextFactory,
) -> None:
    """Defence in depth: should a document slip past the validation count, execution stops
    at the budget before hashing."""
    ctx = context_for(None)
    await auth.sign_up(ctx, {"email": "one@example.test", "password": PASSWORD, "name": "A"})
    with pytest.raises(RateLimitedError):
        await auth.sign_up(ctx, {"email": "two@example.test", "password": PASSWORD, "name": "B"})
    with pytest.raises(RateLimitedError):
        await auth.log_in(ctx, {"email": "one@example.test", "password": PASSWORD})


def _client(api: Api, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=api.app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def _log_in(client: httpx.AsyncClient, email: str, password: str) -> list[str]:
    body = {"query": LOG_IN, "variables": {"input": {"email": email, "password": password}}}
    return error_codes((await client.post("/graphql", json=body)).json())


async def test_log_ins_are_limited_per_account_from_any_address(clean_database: str) -> None:
    settings = make_settings(clean_database, RATE_LIMIT_LOGIN_PER_ACCOUNT=3)
    async with running_api(settings) as api:
        session = await api.sign_up()
        results = []
        for n in range(4):  # credential stuffing: every attempt from a new address
            async with _client(api, f"198.51.100.{n + 1}") as client:
                results.append(await _log_in(client, session.email, "wrong password"))
        assert results == [["UNAUTHENTICATED"]] * 3 + [["RATE_LIMITED"]]
        async with _client(api, "198.51.100.99") as client:  # the owner is locked out too,
            assert await _log_in(client, session.email, PASSWORD) == ["RATE_LIMITED"]
            # but other accounts are not.
            assert await _log_in(client, "other@example.test", "x" * 8) == ["UNAUTHENTICATED"]


async def test_ipv6_clients_are_limited_per_64(clean_database: str) -> None:
    settings = make_settings(clean_database, RATE_LIMIT_LOGIN=3)
    async with running_api(settings) as api:
        results = []
        for n in range(4):  # a new address of the same /64 each time
            async with _client(api, f"2001:db8:1:2::{n + 1:x}") as client:
                results.append(await _log_in(client, f"u{n}@example.test", "wrong password"))
        assert results == [["UNAUTHENTICATED"]] * 3 + [["RATE_LIMITED"]]
        async with _client(api, "2001:db8:1:3::1") as client:  # the next /64 is another client
            assert await _log_in(client, "u9@example.test", "wrong password") == ["UNAUTHENTICATED"]


def test_address_buckets() -> None:
    assert address_bucket("2001:db8:1:2:aaaa:bbbb:cccc:dddd") == "2001:db8:1:2::/64"
    assert address_bucket("203.0.113.7") == "203.0.113.7"
    assert address_bucket("unknown") == "unknown"


ADD_MEMBER = "mutation($i: AddMemberInput!) { addMember(input: $i) { id } }"


async def test_add_member_is_no_better_an_account_oracle_than_sign_up(
    clean_database: str,
) -> None:
    """Each email lookup costs what a sign-up probe costs: the same per-address bucket."""
    settings = make_settings(clean_database, RATE_LIMIT_LOGIN=3)
    async with running_api(settings) as api:
        owner = await api.sign_up("Olivia")  # 1 of 3
        workspace = await api.create_workspace(owner)
        codes = []
        for n in range(3):
            payload = await api.gql(
                ADD_MEMBER,
                {"i": {"workspaceId": workspace, "email": f"probe{n}@x.test", "role": "VIEWER"}},
                token=owner.access_token,
            )
            codes.append(error_codes(payload))
            if n == 0:
                assert payload["errors"][0]["message"].startswith("no user has this email")
    assert codes == [["BAD_USER_INPUT"], ["BAD_USER_INPUT"], ["RATE_LIMITED"]]
