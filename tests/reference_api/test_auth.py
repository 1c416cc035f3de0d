"""signUp, logIn, refreshToken, logOut and me, through HTTP."""

from __future__ import annotations

import sqlalchemy as sa
from tests.reference_api.helpers import PASSWORD, Api, error_codes, unique_email

from reference_api.config import Settings
from reference_api.database import to_sqlalchemy_url
from reference_api.models import refresh_tokens, users

LOG_IN = """mutation($input: LogInInput!) {
  logIn(input: $input) { accessToken refreshToken expiresIn user { id email name } }
}"""
REFRESH = """mutation($token: String!) {
  refreshToken(refreshToken: $token) { accessToken refreshToken user { id } }
}"""
LOG_OUT = "mutation($token: String!) { logOut(refreshToken: $token) }"
SIGN_UP = """mutation($input: SignUpInput!) { signUp(input: $input) { user { id } } }"""


async def test_sign_up_returns_tokens_and_me_answers(api: Api) -> None:
    session = await api.sign_up("Ada")
    data = await api.data("{ me { id email name createdAt } }", token=session.access_token)
    assert data["me"]["id"] == session.user_id
    assert data["me"]["email"] == session.email
    assert data["me"]["name"] == "Ada"
    assert data["me"]["createdAt"].endswith("+00:00")


async def test_sign_up_stores_an_argon2id_hash_and_lower_cases_the_email(
    api: Api, settings: Settings
) -> None:
    email = unique_email("MiXeD").replace("mixed", "MiXeD")
    await api.data(SIGN_UP, {"input": {"email": email, "password": PASSWORD, "name": "M"}})
    engine = sa.create_engine(to_sqlalchemy_url(settings.database_url))
    with engine.connect() as connection:
        row = connection.execute(sa.select(users.c.email, users.c.password_hash)).one()
    engine.dispose()
    assert row.email == email.lower()
    assert row.password_hash.startswith("$argon2id$")
    assert PASSWORD not in row.password_hash


async def test_sign_up_refuses_a_registered_email_and_bad_input(api: Api) -> None:
    session = await api.sign_up("Ada")
    payload = await api.gql(
        SIGN_UP, {"input": {"email": session.email.upper(), "password": PASSWORD, "name": "B"}}
    )
    assert error_codes(payload) == ["BAD_USER_INPUT"]
    assert payload["errors"][0]["extensions"]["field"] == "email"
    for field, value in (("password", "short"), ("email", "not-an-email"), ("name", "   ")):
        fields = {"email": unique_email(), "password": PASSWORD, "name": "C", field: value}
        payload = await api.gql(SIGN_UP, {"input": fields})
        assert error_codes(payload) == ["BAD_USER_INPUT"], payload
        assert payload["errors"][0]["extensions"]["field"] == field


async def test_log_in_with_the_right_and_wrong_password(api: Api) -> None:
    session = await api.sign_up("Ada")
    data = await api.data(LOG_IN, {"input": {"email": session.email, "password": PASSWORD}})
    assert data["logIn"]["user"]["id"] == session.user_id
    assert data["logIn"]["expiresIn"] == 900
    wrong = await api.gql(LOG_IN, {"input": {"email": session.email, "password": "nope-nope"}})
    unknown = await api.gql(LOG_IN, {"input": {"email": unique_email(), "password": "nope-nope"}})
    assert error_codes(wrong) == error_codes(unknown) == ["UNAUTHENTICATED"]
    # No account oracle: an unknown email and a wrong password read the same.
    assert wrong["errors"][0]["message"] == unknown["errors"][0]["message"]


async def test_refresh_rotates_the_token(api: Api) -> None:
    session = await api.sign_up()
    first = (await api.data(REFRESH, {"token": session.refresh_token}))["refreshToken"]
    assert first["user"]["id"] == session.user_id
    assert first["refreshToken"] != session.refresh_token
    second = (await api.data(REFRESH, {"token": first["refreshToken"]}))["refreshToken"]
    me = await api.data("{ me { id } }", token=second["accessToken"])
    assert me["me"]["id"] == session.user_id


async def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(api: Api) -> None:
    session = await api.sign_up()
    rotated = (await api.data(REFRESH, {"token": session.refresh_token}))["refreshToken"]
    reuse = await api.gql(REFRESH, {"token": session.refresh_token})
    assert error_codes(reuse) == ["UNAUTHENTICATED"]
    # The legitimate holder's newer token is dead too: the session is over.
    after = await api.gql(REFRESH, {"token": rotated["refreshToken"]})
    assert error_codes(after) == ["UNAUTHENTICATED"]
    # Another session of the same user is untouched.
    other = (await api.data(LOG_IN, {"input": {"email": session.email, "password": PASSWORD}}))[
        "logIn"
    ]
    assert (await api.data(REFRESH, {"token": other["refreshToken"]}))["refreshToken"]


async def test_log_out_revokes_and_unknown_tokens_reveal_nothing(api: Api) -> None:
    session = await api.sign_up()
    assert (await api.data(LOG_OUT, {"token": session.refresh_token}))["logOut"] is True
    assert error_codes(await api.gql(REFRESH, {"token": session.refresh_token})) == [
        "UNAUTHENTICATED"
    ]
    assert (await api.data(LOG_OUT, {"token": "never-issued"}))["logOut"] is True
    assert error_codes(await api.gql(REFRESH, {"token": "never-issued"})) == ["UNAUTHENTICATED"]


async def test_refresh_tokens_are_stored_hashed(api: Api, settings: Settings) -> None:
    session = await api.sign_up()
    engine = sa.create_engine(to_sqlalchemy_url(settings.database_url))
    with engine.connect() as connection:
        hashes = connection.execute(sa.select(refresh_tokens.c.token_hash)).scalars().all()
    engine.dispose()
    assert len(hashes) == 1
    assert session.refresh_token not in hashes[0]
    assert len(hashes[0]) == 64


async def test_me_without_a_token_is_unauthenticated(api: Api) -> None:
    payload = await api.gql("{ me { id } }")
    assert error_codes(payload) == ["UNAUTHENTICATED"]
    assert payload["errors"][0]["extensions"]["requestId"]
