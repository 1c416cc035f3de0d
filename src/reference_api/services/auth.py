"""Accounts and sessions: sign up, log in, refresh-token rotation, log out.

A session is a *family* of refresh tokens: each refresh rotates the token (the old one is
marked ``rotated_at``, a new one issued in the same family). Presenting a rotated token again
means two parties hold it, so the whole family is revoked and both must log in again.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from reference_api.context import RequestContext
from reference_api.models import refresh_tokens, users
from reference_api.ratelimit.interface import RateLimiterError
from reference_api.services.errors import BadUserInputError, RateLimitedError, UnauthenticatedError
from reference_api.services.inputs import LogInInput, SignUpInput, parse_input
from reference_api.services.records import UserRecord

INVALID_CREDENTIALS = "invalid email or password"
REFRESH_REFUSED = "invalid or expired refresh token"

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AuthPayload:
    """What a client keeps after signing in."""

    access_token: str
    refresh_token: str
    expires_in: int
    user: UserRecord


async def get_viewer(ctx: RequestContext) -> UserRecord:
    """The signed-in user (a deleted account is ``UnauthenticatedError``, not an error)."""
    user = await ctx.loaders.users.load(ctx.require_viewer())
    if user is None:
        raise UnauthenticatedError("sign in first: send a valid access token")
    return user


async def sign_up(ctx: RequestContext, data: dict[str, Any]) -> AuthPayload:
    """Create an account and sign it in."""
    request = parse_input(SignUpInput, data)
    password_hash = await ctx.app.passwords.hash(request.password)
    try:
        async with ctx.app.engine.begin() as connection:
            row = (
                (
                    await connection.execute(
                        sa.insert(users)
                        .values(email=request.email, name=request.name, password_hash=password_hash)
                        .returning(users.c.id, users.c.email, users.c.name, users.c.created_at)
                    )
                )
                .mappings()
                .one()
            )
            user = UserRecord.from_row(row)
            return await _start_session(ctx, connection, user)
    except IntegrityError:
        raise BadUserInputError("is already registered", field="email") from None


async def log_in(ctx: RequestContext, data: dict[str, Any]) -> AuthPayload:
    """Exchange email and password for tokens; attempts are rate-limited per client IP."""
    settings = ctx.app.settings
    try:
        decision = await ctx.app.rate_limiter.hit(
            f"login:{ctx.client_ip}",
            limit=settings.rate_limit_login,
            window_seconds=settings.rate_limit_window_seconds,
        )
    except RateLimiterError as error:
        # The limiter protects availability; its outage must not lock everyone out.
        logger.warning("log-in rate limiter unavailable: %s", error)
    else:
        if not decision.allowed:
            raise RateLimitedError(
                "too many log-in attempts, try again later", retry_after=decision.retry_after
            )
    request = parse_input(LogInInput, data)
    # Read and verify outside any transaction: argon2 is slow on purpose, and a pooled
    # connection should not wait for it.
    async with ctx.app.reader.connect() as connection:
        row = (
            (await connection.execute(sa.select(users).where(users.c.email == request.email)))
            .mappings()
            .one_or_none()
        )
    # Verify even for an unknown email (against a dummy hash): same time, no account oracle.
    matches = await ctx.app.passwords.verify(
        None if row is None else row["password_hash"], request.password
    )
    if row is None or not matches:
        raise UnauthenticatedError(INVALID_CREDENTIALS)
    new_hash = None
    if ctx.app.passwords.needs_rehash(row["password_hash"]):
        new_hash = await ctx.app.passwords.hash(request.password)
    async with ctx.app.engine.begin() as connection:
        if new_hash is not None:
            await connection.execute(
                sa.update(users).where(users.c.id == row["id"]).values(password_hash=new_hash)
            )
        return await _start_session(ctx, connection, UserRecord.from_row(row))


async def refresh(ctx: RequestContext, token: str) -> AuthPayload:
    """Rotate a refresh token; reusing a rotated one revokes its whole family."""
    token_hash = ctx.app.tokens.hash_refresh_token(token)
    async with ctx.app.engine.begin() as connection:
        row = (
            (
                await connection.execute(
                    sa.select(refresh_tokens)
                    .where(refresh_tokens.c.token_hash == token_hash)
                    .with_for_update()
                )
            )
            .mappings()
            .one_or_none()
        )
        now = dt.datetime.now(dt.UTC)
        if row is None or row["revoked_at"] is not None or row["expires_at"] <= now:
            raise UnauthenticatedError(REFRESH_REFUSED)
        if row["rotated_at"] is None:
            await connection.execute(
                sa.update(refresh_tokens)
                .where(refresh_tokens.c.id == row["id"])
                .values(rotated_at=sa.func.now())
            )
            user = await ctx.loaders.users.load(row["user_id"])
            if user is None:  # pragma: no cover - the FK deletes tokens with their user
                raise UnauthenticatedError(REFRESH_REFUSED)
            return await _issue(ctx, connection, user, family_id=row["family_id"])
        # A rotated token came back: someone kept a copy. End the whole session.
        await _revoke_family(connection, row["family_id"])
    # Raised after the block so that the revocation is committed, not rolled back.
    raise UnauthenticatedError(REFRESH_REFUSED)


async def log_out(ctx: RequestContext, token: str) -> bool:
    """Revoke the session of ``token``. Always ``True``: unknown tokens reveal nothing."""
    token_hash = ctx.app.tokens.hash_refresh_token(token)
    async with ctx.app.engine.begin() as connection:
        family_id = (
            await connection.execute(
                sa.select(refresh_tokens.c.family_id).where(
                    refresh_tokens.c.token_hash == token_hash
                )
            )
        ).scalar_one_or_none()
        if family_id is not None:
            await _revoke_family(connection, family_id)
    return True


async def _revoke_family(connection: AsyncConnection, family_id: uuid.UUID) -> None:
    await connection.execute(
        sa.update(refresh_tokens)
        .where(refresh_tokens.c.family_id == family_id, refresh_tokens.c.revoked_at.is_(None))
        .values(revoked_at=sa.func.now())
    )


async def _start_session(
    ctx: RequestContext, connection: AsyncConnection, user: UserRecord
) -> AuthPayload:
    return await _issue(ctx, connection, user, family_id=uuid.uuid4())


async def _issue(
    ctx: RequestContext, connection: AsyncConnection, user: UserRecord, *, family_id: uuid.UUID
) -> AuthPayload:
    tokens = ctx.app.tokens
    refresh_token = tokens.new_refresh_token()
    await connection.execute(
        sa.insert(refresh_tokens).values(
            user_id=user.id,
            family_id=family_id,
            token_hash=tokens.hash_refresh_token(refresh_token),
            expires_at=sa.func.now() + dt.timedelta(seconds=tokens.refresh_ttl_seconds),
        )
    )
    return AuthPayload(
        access_token=tokens.issue_access_token(user.id),
        refresh_token=refresh_token,
        expires_in=tokens.access_ttl_seconds,
        user=user,
    )
