"""Whatever fails, the answer is the one error format with the request id and the headers.

Before: deeply nested JSON got Starlette's plain-text 500 without X-Request-ID or security
headers, malformed JSON Ariadne's plain-text 400, and unknown routes a plain "Not Found"
(audit S7).
"""

from __future__ import annotations

import httpx
import pytest
from starlette.types import Receive, Scope, Send
from tests.reference_api.conftest import make_settings
from tests.reference_api.helpers import running_api
from tests.reference_api.test_production import STRONG_SECRET

from reference_api.metrics import Metrics
from reference_api.middleware.error_shield import ErrorShieldMiddleware
from reference_api.middleware.request_context import request_id_var

REQUESTS: dict[str, tuple[str, str, dict[str, str], bytes, int]] = {
    "nested 10,000 deep": ("POST", "/graphql", {}, b"[" * 10_000 + b"]" * 10_000, 400),
    "nested objects": ("POST", "/graphql", {}, b'{"a":' * 10_000 + b"1" + b"}" * 10_000, 400),
    "malformed": ("POST", "/graphql", {}, b'{"query": ', 400),
    "not an object": ("POST", "/graphql", {}, b'"{ __typename }"', 400),
    "batch of 10": (
        "POST",
        "/graphql",
        {},
        b"[" + b",".join([b'{"query":"{me{id}}"}'] * 10) + b"]",
        400,
    ),
    "empty variables list": (
        "POST",
        "/graphql",
        {},
        b'{"query":"{ __typename }","variables":[]}',
        400,
    ),
    "operation name not a string": (
        "POST",
        "/graphql",
        {},
        b'{"query":"{ __typename }","operationName":7}',
        400,
    ),
    "no query": ("POST", "/graphql", {}, b'{"variables": {}}', 400),
    "variables not an object": (
        "POST",
        "/graphql",
        {},
        b'{"query":"{ __typename }","variables":[1]}',
        400,
    ),
    "huge": ("POST", "/graphql", {}, b'{"query":"' + b" " * 200_000 + b'{ __typename }"}', 413),
    "text/plain": (
        "POST",
        "/graphql",
        {"content-type": "text/plain"},
        b'{"query":"{ __typename }"}',
        415,
    ),
    "urlencoded": (
        "POST",
        "/graphql",
        {"content-type": "application/x-www-form-urlencoded"},
        b"query=%7B__typename%7D",
        415,
    ),
    "multipart": (
        "POST",
        "/graphql",
        {"content-type": "multipart/form-data; boundary=x"},
        b"--x--",
        415,
    ),
    "no content type": (
        "POST",
        "/graphql",
        {"content-type": ""},
        b'{"query":"{ __typename }"}',
        415,
    ),
    "GET query": ("GET", "/graphql?query=%7B__typename%7D", {}, b"", 405),
    "GET mutation": (
        "GET",
        "/graphql?query=mutation%7BlogOut(refreshToken%3A%22x%22)%7D",
        {},
        b"",
        405,
    ),
    "GET GraphiQL in production": ("GET", "/graphql", {"accept": "text/html"}, b"", 405),
    "PUT": ("PUT", "/graphql", {}, b"{}", 405),
    "unknown route": ("GET", "/nope", {}, b"", 404),
    "unknown route POST": ("POST", "/admin", {}, b"{}", 404),
}


@pytest.fixture
async def production(clean_database: str):  # type: ignore[no-untyped-def]
    settings = make_settings(clean_database, APP_ENV="production", JWT_SECRET=STRONG_SECRET)
    async with running_api(settings) as api:
        yield api


def _assert_error_format(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text[:200]
    assert response.headers["content-type"].startswith("application/json")
    request_id = response.headers["x-request-id"]
    (error,) = response.json()["errors"]
    assert error["extensions"]["requestId"] == request_id
    assert error["extensions"]["code"] in {"BAD_USER_INPUT", "NOT_FOUND", "INTERNAL_SERVER_ERROR"}
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert "strict-transport-security" in response.headers
    assert "Traceback" not in response.text


@pytest.mark.parametrize("name", list(REQUESTS))
async def test_every_refusal_is_in_the_error_format(production, name: str) -> None:  # type: ignore[no-untyped-def]
    method, path, headers, body, status = REQUESTS[name]
    all_headers = {"content-type": "application/json", **headers}
    if not all_headers["content-type"]:
        del all_headers["content-type"]
    response = await production.client.request(method, path, content=body, headers=all_headers)
    _assert_error_format(response, status)


async def test_a_bug_outside_graphql_is_a_500_in_the_error_format() -> None:
    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("secret detail")

    token = request_id_var.set("abcdef0123456789")
    try:
        shield = ErrorShieldMiddleware(broken, metrics=Metrics())
        transport = httpx.ASGITransport(app=shield)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/")
    finally:
        request_id_var.reset(token)
    assert response.status_code == 500
    (error,) = response.json()["errors"]
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "abcdef0123456789"}
    assert "secret detail" not in response.text


async def test_cors_does_not_reflect_arbitrary_origins(production) -> None:  # type: ignore[no-untyped-def]
    response = await production.client.options(
        "/graphql",
        headers={"origin": "https://evil.example", "access-control-request-method": "POST"},
    )
    assert response.headers.get("access-control-allow-origin") in (None, "")
    assert "access-control-allow-credentials" not in response.headers
    simple = await production.client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"origin": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in simple.headers
