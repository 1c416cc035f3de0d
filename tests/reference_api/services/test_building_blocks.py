"""Pure building blocks: pagination, tokens, passwords, input parsing, the DataLoader."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import uuid
from collections.abc import Sequence

import pytest
from argon2 import PasswordHasher, Type

from reference_api.config import Settings
from reference_api.dataloader import DataLoader
from reference_api.domain.errors import BadUserInputError, UnauthenticatedError
from reference_api.domain.pagination import (
    MAX_PAGE_SIZE,
    SortKey,
    decode_cursor,
    encode_cursor,
    page_request,
)
from reference_api.security.passwords import PasswordService
from reference_api.security.tokens import TokenService
from reference_api.services.inputs import CreateTaskInput, SignUpInput, parse_input


def test_cursors_round_trip_and_refuse_forgeries() -> None:
    key = SortKey(id=uuid.uuid4(), created_at=dt.datetime.now(dt.UTC))
    cursor = decode_cursor(encode_cursor(key))
    assert (cursor.id, cursor.created_at) == (key.id, key.created_at)
    naive = base64.urlsafe_b64encode(f"2026-01-01T00:00:00|{uuid.uuid4()}".encode()).decode()
    for forged in ("%%%", "bm90IGEgY3Vyc29y", naive, base64.urlsafe_b64encode(b"\xff").decode()):
        with pytest.raises(BadUserInputError) as raised:
            decode_cursor(forged)
        assert raised.value.field == "after"


def test_page_requests_default_cap_and_refuse_negatives() -> None:
    assert page_request(None, None).first == 20
    assert page_request(10_000, None).first == MAX_PAGE_SIZE
    assert page_request(0, None).first == 0
    with pytest.raises(BadUserInputError):
        page_request(-1, None)


def test_tokens_verify_only_their_own() -> None:
    def service(secret: str, issuer: str = "i") -> TokenService:
        return TokenService(
            secret=secret,
            algorithm="HS256",
            issuer=issuer,
            audience="a",
            access_ttl_seconds=60,
            refresh_ttl_seconds=60,
        )

    user = uuid.uuid4()
    ours = service("s" * 32)
    assert ours.verify_access_token(ours.issue_access_token(user)) == user
    for other in (service("t" * 32), service("s" * 32, issuer="j")):
        with pytest.raises(UnauthenticatedError):
            ours.verify_access_token(other.issue_access_token(user))
    token = TokenService.new_refresh_token()
    assert len(token) >= 43
    assert TokenService.hash_refresh_token(token) == TokenService.hash_refresh_token(token)
    assert TokenService.hash_refresh_token(token) != TokenService.hash_refresh_token(token + "x")


async def test_passwords() -> None:
    passwords = PasswordService(time_cost=1, memory_cost_kib=8, parallelism=1)
    stored = await passwords.hash("secret words")
    assert stored.startswith("$argon2id$")
    assert await passwords.verify(stored, "secret words")
    assert not await passwords.verify(stored, "other words")
    assert not await passwords.verify(None, "not a real password")
    assert not await passwords.verify("not-a-hash", "secret words")
    assert not passwords.needs_rehash(stored)


async def test_production_passwords_follow_owasp_and_accept_older_hashes() -> None:
    defaults = Settings(DATABASE_URL="postgresql://unused", APP_ENV="development")
    passwords = PasswordService(
        time_cost=defaults.argon2_time_cost,
        memory_cost_kib=defaults.argon2_memory_cost_kib,
        parallelism=defaults.argon2_parallelism,
    )
    stored = await passwords.hash("secret words")
    assert "$argon2id$v=19$m=19456,t=2,p=1$" in stored
    assert not passwords.needs_rehash(stored)
    # Hashed before the change, with argon2-cffi's defaults (t=3, 64 MiB, p=4): still valid,
    # and due for a rehash (the log-in does it: test_log_in_rehashes_passwords_...).
    older = PasswordHasher(type=Type.ID).hash("secret words")
    assert "m=65536,t=3,p=4" in older
    assert await passwords.verify(older, "secret words")
    assert passwords.needs_rehash(older)


def test_inputs_name_the_camel_case_field() -> None:
    with pytest.raises(BadUserInputError) as raised:
        parse_input(CreateTaskInput, {"project_id": "nope", "title": "T"})
    assert raised.value.field == "projectId"
    with pytest.raises(BadUserInputError) as raised:
        parse_input(SignUpInput, {"email": "a@b.cd", "password": "long enough"})
    assert raised.value.field == "name"
    parsed = parse_input(
        SignUpInput, {"email": " Ada@Example.TEST ", "password": "x" * 8, "name": " A "}
    )
    assert (parsed.email, parsed.name) == ("ada@example.test", "A")


async def test_dataloader_batches_caches_and_fails_together() -> None:
    calls: list[list[int]] = []

    async def double(keys: Sequence[int]) -> list[int]:
        calls.append(list(keys))
        return [key * 2 for key in keys]

    loader = DataLoader(double)
    assert list(await asyncio.gather(loader.load(1), loader.load(2), loader.load(1))) == [2, 4, 2]
    assert await loader.load_many([2, 3]) == [4, 6]
    loader.prime(9, 99)
    assert await loader.load(9) == 99
    assert calls == [[1, 2], [3]]

    async def broken(keys: Sequence[int]) -> list[int]:
        raise RuntimeError("database down")

    failing = DataLoader(broken)
    results = await asyncio.gather(failing.load(1), failing.load(2), return_exceptions=True)
    assert all(isinstance(result, RuntimeError) for result in results)
    # A failed key is not cached: the next load tries again.
    with pytest.raises(RuntimeError):
        await failing.load(1)

    async def short(keys: Sequence[int]) -> list[int]:
        return []

    with pytest.raises(RuntimeError, match="one value per key"):
        await DataLoader(short).load(1)
