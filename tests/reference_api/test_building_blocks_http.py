"""Middleware, configuration and scalars below the HTTP tests: edge cases a client rarely hits."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reference_api.config import Settings, SettingsError
from reference_api.database import to_sqlalchemy_url
from reference_api.metrics import Metrics
from reference_api.middleware.client_address import ClientAddress
from reference_api.middleware.request_guard import RequestGuardMiddleware
from reference_api.middleware.request_log import RequestLogMiddleware
from reference_api.middleware.security_headers import SecurityHeadersMiddleware
from reference_api.ratelimit import memory
from reference_api.ratelimit.memory import MemoryRateLimiter
from reference_api.resolvers.scalars import parse_date, parse_datetime

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]


async def _call(middleware: ASGIApp, scope: Scope, chunks: list[Message]) -> list[Message]:
    incoming = list(chunks)
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await middleware(scope, receive, send)
    return sent


def _scope(headers: dict[str, str]) -> Scope:
    return {
        "type": "http",
        "method": "POST",
        "path": "/graphql",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }


async def echo_body(scope: Scope, receive: Receive, send: Send) -> None:
    """A downstream app answering with the body it received (twice read: replay then EOF)."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    # Like Starlette, listen on: after the body, the next message is the disconnect.
    assert (await receive())["type"] == "http.disconnect"
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def test_guard_counts_streamed_bodies_without_a_length() -> None:
    guard = RequestGuardMiddleware(echo_body, max_body_bytes=20, metrics=Metrics())
    json_type = {"content-type": "application/json"}
    small: list[Message] = [
        {"type": "http.request", "body": b'{"query"', "more_body": True},
        {"type": "http.request", "body": b':"{a}"}', "more_body": False},
    ]
    sent = await _call(guard, _scope(json_type), small)
    assert sent[0]["status"] == 200
    assert sent[1]["body"] == b'{"query":"{a}"}'
    large: list[Message] = [
        {"type": "http.request", "body": b"123456789012", "more_body": True}
    ] * 2
    assert (await _call(guard, _scope(json_type), large))[0]["status"] == 413
    bad_length = {**json_type, "content-length": "ten"}
    assert (await _call(guard, _scope(bad_length), small))[0]["status"] == 413
    # A client that goes away mid-body: what arrived is not JSON, refused; nothing hangs.
    cut: list[Message] = [{"type": "http.request", "body": b'{"qu', "more_body": True}]
    assert (await _call(guard, _scope(json_type), cut))[0]["status"] == 400


async def test_non_http_scopes_pass_through_untouched() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    async def nothing() -> Message:
        raise AssertionError("a lifespan pass-through does not read the request")

    async def ignore(message: Message) -> None:
        raise AssertionError("a lifespan pass-through does not answer")

    for middleware in (
        RequestLogMiddleware(app, metrics=Metrics(), client_address=ClientAddress(())),
        SecurityHeadersMiddleware(app, production=True),
    ):
        await middleware({"type": "lifespan"}, nothing, ignore)
    assert seen == ["lifespan", "lifespan"]


async def test_memory_rate_limiter_forgets_old_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "PRUNE_ABOVE", 3)
    limiter = MemoryRateLimiter()
    for key in ("a", "b", "c", "d", "e"):
        assert (await limiter.hit(key, limit=1, window_seconds=60)).allowed
    assert not (await limiter.hit("e", limit=1, window_seconds=60)).allowed
    assert len(limiter._counts) <= 5


def test_settings_validation_messages_name_the_variable() -> None:
    base = {"DATABASE_URL": "postgresql://x/y", "APP_ENV": "development"}
    with pytest.raises(SettingsError, match="JWT_ALGORITHM: Value error, must be one of"):
        Settings.from_environ({**base, "JWT_ALGORITHM": "none"})
    with pytest.raises(SettingsError, match="JWT_SECRET must be at least 64"):
        Settings.from_environ(
            {**base, "APP_ENV": "production", "JWT_ALGORITHM": "HS512", "JWT_SECRET": "s" * 40}
        )
    settings = Settings.model_validate({**base, "CORS_ORIGINS": ["https://a.test"]})
    assert settings.cors_origins == ("https://a.test",)


def test_database_urls() -> None:
    assert to_sqlalchemy_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert to_sqlalchemy_url("postgresql+psycopg://u@h/d") == "postgresql+psycopg://u@h/d"
    assert to_sqlalchemy_url("sqlite://") == "sqlite://"


def test_scalars() -> None:
    assert parse_date("2030-01-15") == dt.date(2030, 1, 15)
    moment = parse_datetime("2030-01-15T10:00:00+00:00")
    assert moment.tzinfo is not None
    with pytest.raises(ValueError, match="UTC offset"):
        parse_datetime("2030-01-15T10:00:00")


def _alembic(*args: str, database_url: str | None) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ}
    environment.pop("DATABASE_URL", None)
    if database_url:
        environment["DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "alembic", *args],
        cwd=REPOSITORY_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.slow
def test_alembic_offline_sql_and_a_missing_database_url() -> None:
    offline = _alembic("upgrade", "head", "--sql", database_url="postgresql://u@h/d")
    assert offline.returncode == 0, offline.stderr
    assert "CREATE TABLE refresh_tokens" in offline.stdout
    assert "CONSTRAINT ck_tasks_status_valid" in offline.stdout
    missing = _alembic("upgrade", "head", database_url=None)
    assert missing.returncode != 0
    assert "DATABASE_URL is not set" in missing.stderr
