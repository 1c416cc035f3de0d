"""Rotation and revocation of one session family, in parallel transactions on PostgreSQL.

Before: a ``logOut`` (or a reuse detection) running while a refresh was mid-transaction
revoked the family as its snapshot saw it, without the token the refresh was inserting; that
token then lived on in a revoked session (audit S3).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa
from tests.reference_api.helpers import ContextFactory

from reference_api.domain.errors import UnauthenticatedError
from reference_api.models import refresh_tokens
from reference_api.services import auth
from reference_api.state import AppState

PASSWORD = "correct horse battery"


def _slow_issue(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Keep a refresh's transaction open after it inserted the successor token."""
    original = auth._issue

    async def slow(*args: Any, **kwargs: Any) -> auth.AuthPayload:
        payload = await original(*args, **kwargs)
        await asyncio.sleep(seconds)
        return payload

    monkeypatch.setattr(auth, "_issue", slow)


async def _live_tokens(state: AppState) -> int:
    async with state.engine.connect() as connection:
        count = await connection.scalar(
            sa.select(sa.func.count()).where(refresh_tokens.c.revoked_at.is_(None))
        )
    return int(count or 0)


async def test_log_out_during_a_refresh_revokes_the_new_token(
    context_for: ContextFactory, state: AppState, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = await auth.sign_up(context_for(None), _input())
    _slow_issue(monkeypatch, 0.4)

    async def log_out_soon() -> bool:
        await asyncio.sleep(0.1)  # the refresh holds its transaction open by now
        return await auth.log_out(context_for(None), session.refresh_token)

    rotated, _ = await asyncio.gather(
        auth.refresh(context_for(None), session.refresh_token), log_out_soon()
    )
    monkeypatch.undo()
    with pytest.raises(UnauthenticatedError):
        await auth.refresh(context_for(None), rotated.refresh_token)
    assert await _live_tokens(state) == 0


async def test_reuse_detected_during_a_refresh_revokes_the_new_token(
    context_for: ContextFactory, state: AppState, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await auth.sign_up(context_for(None), _input())
    second = await auth.refresh(context_for(None), first.refresh_token)  # first is now rotated
    _slow_issue(monkeypatch, 0.4)

    async def thief_reuses_soon() -> None:
        await asyncio.sleep(0.1)
        with pytest.raises(UnauthenticatedError):
            await auth.refresh(context_for(None), first.refresh_token)

    third, _ = await asyncio.gather(
        auth.refresh(context_for(None), second.refresh_token), thief_reuses_soon()
    )
    monkeypatch.undo()
    with pytest.raises(UnauthenticatedError):
        await auth.refresh(context_for(None), third.refresh_token)
    assert await _live_tokens(state) == 0


async def test_parallel_refreshes_of_one_token_issue_at_most_one_live_successor(
    context_for: ContextFactory, state: AppState
) -> None:
    session = await auth.sign_up(context_for(None), _input())
    results = await asyncio.gather(
        *(auth.refresh(context_for(None), session.refresh_token) for _ in range(4)),
        return_exceptions=True,
    )
    winners = [result for result in results if isinstance(result, auth.AuthPayload)]
    assert len(winners) <= 1
    assert all(isinstance(r, UnauthenticatedError) for r in results if r not in winners)
    # The reuse that followed revoked the family, the winner's token included.
    assert await _live_tokens(state) == 0


def _input() -> dict[str, str]:
    return {"email": "ada@example.test", "password": PASSWORD, "name": "Ada"}
