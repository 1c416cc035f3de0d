"""Access tokens: tampered, expired, wrong-algorithm, wrong-issuer tokens are all refused."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
import warnings

import jwt
from jwt.warnings import InsecureKeyLengthWarning
from tests.reference_api.helpers import Api, error_codes

from reference_api.config import Settings
from reference_api.security.tokens import TokenService

ME = "{ me { id } }"


def _claims(settings: Settings, user_id: str, **overrides: object) -> dict[str, object]:
    now = dt.datetime.now(dt.UTC)
    claims: dict[str, object] = {
        "sub": user_id,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "nbf": now,
        "exp": now + dt.timedelta(minutes=5),
        "jti": uuid.uuid4().hex,
    }
    claims.update(overrides)
    return claims


def _b64(data: dict[str, object]) -> str:
    raw = json.dumps(data, default=str).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


async def _refused(api: Api, token: str) -> bool:
    return error_codes(await api.gql(ME, token=token)) == ["UNAUTHENTICATED"]


async def test_a_valid_token_works_and_lives_fifteen_minutes(api: Api, settings: Settings) -> None:
    session = await api.sign_up()
    assert (await api.data(ME, token=session.access_token))["me"]["id"] == session.user_id
    claims = jwt.decode(
        session.access_token,
        settings.jwt_secret.get_secret_value(),
        algorithms=["HS256"],
        audience=settings.jwt_audience,
    )
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert claims["sub"] == session.user_id


async def test_tampered_tokens_are_refused(api: Api, settings: Settings) -> None:
    alice = await api.sign_up("Alice")
    bob = await api.sign_up("Bob")
    header, _, signature = alice.access_token.split(".")
    # Bob's id in Alice's token: the signature no longer matches.
    forged = f"{header}.{_b64(_claims(settings, bob.user_id))}.{signature}"
    assert await _refused(api, forged)
    assert await _refused(api, alice.access_token[:-2] + "xx")
    assert await _refused(api, "not.a.jwt")
    other_secret = jwt.encode(_claims(settings, alice.user_id), "another-secret-" * 3, "HS256")
    assert await _refused(api, other_secret)


async def test_alg_none_and_algorithm_switching_are_refused(api: Api, settings: Settings) -> None:
    session = await api.sign_up()
    claims = _claims(settings, session.user_id)
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    assert await _refused(api, unsigned)
    secret = settings.jwt_secret.get_secret_value()
    # Same secret, another HMAC: only the configured algorithm is accepted.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)  # the attacker does not care
        switched = jwt.encode(claims, secret, algorithm="HS512")
    assert await _refused(api, switched)


async def test_expired_and_foreign_tokens_are_refused(api: Api, settings: Settings) -> None:
    session = await api.sign_up()
    secret = settings.jwt_secret.get_secret_value()
    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    expired = TokenService(
        secret=secret,
        algorithm="HS256",
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        access_ttl_seconds=60,
        refresh_ttl_seconds=60,
    ).issue_access_token(uuid.UUID(session.user_id), now=past)
    assert await _refused(api, expired)
    for overrides in ({"iss": "someone-else"}, {"aud": "another-api"}, {"sub": "not-a-uuid"}):
        token = jwt.encode(_claims(settings, session.user_id, **overrides), secret, "HS256")
        assert await _refused(api, token), overrides
    missing_exp = _claims(settings, session.user_id)
    del missing_exp["exp"]
    assert await _refused(api, jwt.encode(missing_exp, secret, "HS256"))


async def test_an_invalid_token_does_not_block_public_mutations(api: Api) -> None:
    payload = await api.gql(
        """mutation { signUp(input: {email: "new@example.test", password: "long enough",
           name: "New"}) { user { email } } }""",
        token="garbage",
    )
    assert payload["data"]["signUp"]["user"]["email"] == "new@example.test"
