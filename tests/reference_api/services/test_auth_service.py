"""``services.auth`` called directly."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from tests.reference_api.helpers import ContextFactory

from reference_api.domain.errors import RateLimitedError, UnauthenticatedError
from reference_api.models import refresh_tokens, users
from reference_api.security.passwords import PasswordService
from reference_api.services import auth
from reference_api.state import AppState

PASSWORD = "correct horse battery"


def _sign_up_input(email: str = "ada@example.test") -> dict[str, str]:
    return {"email": email, "password": PASSWORD, "name": "Ada"}


async def test_sign_up_and_get_viewer(context_for: ContextFactory) -> None:
    payload = await auth.sign_up(context_for(None), _sign_up_input())
    viewer = await auth.get_viewer(context_for(payload.user.id))
    assert viewer == payload.user
    assert payload.expires_in == 900


async def test_get_viewer_of_a_deleted_account_is_unauthenticated(
    context_for: ContextFactory, state: AppState
) -> None:
    payload = await auth.sign_up(context_for(None), _sign_up_input())
    async with state.engine.begin() as connection:
        await connection.execute(sa.delete(users))
    with pytest.raises(UnauthenticatedError):
        await auth.get_viewer(context_for(payload.user.id))
    with pytest.raises(UnauthenticatedError):
        await auth.get_viewer(context_for(None))


async def test_log_in_rehashes_passwords_hashed_with_old_parameters(
    context_for: ContextFactory, state: AppState
) -> None:
    old = PasswordService(time_cost=2, memory_cost_kib=16, parallelism=1)
    async with state.engine.begin() as connection:
        await connection.execute(
            sa.insert(users).values(
                email="old@example.test", name="Old", password_hash=await old.hash(PASSWORD)
            )
        )
    await auth.log_in(context_for(None), {"email": "old@example.test", "password": PASSWORD})
    async with state.engine.connect() as connection:
        stored = await connection.scalar(sa.select(users.c.password_hash))
    assert stored is not None
    assert not state.passwords.needs_rehash(stored)
    assert "m=8,t=1,p=1" in stored


async def test_log_in_limit_per_client_ip(context_for: ContextFactory, state: AppState) -> None:
    await auth.sign_up(context_for(None), _sign_up_input())
    credentials = {"email": "ada@example.test", "password": PASSWORD}
    limit = state.settings.rate_limit_login
    for _ in range(limit):
        await state.password_limiter.hit(
            "password:127.0.0.1",
            limit=limit,
            window_seconds=state.settings.rate_limit_window_seconds,
        )
    with pytest.raises(RateLimitedError) as raised:
        await auth.log_in(context_for(None), credentials)
    assert raised.value.retry_after >= 1


async def test_expired_and_revoked_refresh_tokens_are_refused(
    context_for: ContextFactory, state: AppState
) -> None:
    payload = await auth.sign_up(context_for(None), _sign_up_input())
    async with state.engine.begin() as connection:
        await connection.execute(
            sa.update(refresh_tokens).values(
                created_at=sa.func.now() - sa.text("interval '2 days'"),
                expires_at=sa.func.now() - sa.text("interval '1 day'"),
            )
        )
    with pytest.raises(UnauthenticatedError):
        await auth.refresh(context_for(None), payload.refresh_token)
    second = await auth.log_in(
        context_for(None), {"email": "ada@example.test", "password": PASSWORD}
    )
    assert await auth.log_out(context_for(None), second.refresh_token) is True
    with pytest.raises(UnauthenticatedError):
        await auth.refresh(context_for(None), second.refresh_token)


async def test_refresh_keeps_the_family_and_rotation_marks_the_old_token(
    context_for: ContextFactory, state: AppState
) -> None:
    payload = await auth.sign_up(context_for(None), _sign_up_input())
    rotated = await auth.refresh(context_for(None), payload.refresh_token)
    async with state.engine.connect() as connection:
        rows = (
            (
                await connection.execute(
                    sa.select(refresh_tokens).order_by(refresh_tokens.c.created_at)
                )
            )
            .mappings()
            .all()
        )
    assert len(rows) == 2
    assert rows[0]["family_id"] == rows[1]["family_id"]
    assert rows[0]["rotated_at"] is not None
    assert rows[1]["rotated_at"] is None
    assert rotated.user.id == payload.user.id
    assert uuid.UUID(str(rotated.user.id))
