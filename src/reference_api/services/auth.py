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

from reference_api.domain.errors import BadUserInputError, RateLimitedError, UnauthenticatedError
from reference_api.domain.records import UserRecord
from reference_api.models import refresh_tokens, users
from reference_api.ratelimit.interface import RateLimiterError
from reference_api.ratelimit.keys import account_bucket, address_bucket
from reference_api.services.caller import Caller
from reference_api.services.inputs import LogInInput, SignUpInput, parse_input

INVALID_CREDENTIALS = "invalid email or password"
ALREADY_REGISTERED = "is already registered"
#: Retry-After when the limiter is down and password attempts are refused (fail closed).
LIMITER_DOWN_RETRY_SECONDS = 5
REFRESH_REFUSED = "invalid or expired refresh token"

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AuthPayload:
    """What a client keeps after signing in."""

    access_token: str
    refresh_token: str
    expires_in: int
    user: UserRecord


async def get_viewer(ctx: Caller) -> UserRecord:
    """The signed-in user (a deleted account is ``UnauthenticatedError``, not an error)."""
    user = await ctx.loaders.users.load(ctx.require_viewer())
    if user is None:
        raise UnauthenticatedError("sign in first: send a valid access token")
    return user


async def sign_up(ctx: Caller, data: dict[str, Any]) -> AuthPayload:
    """Create an account and sign it in (one per request; charged to the password limit)."""
    request = parse_input(SignUpInput, data)
    ctx.spend_password_hash()
    await charge_account_lookup(ctx)
    # A taken email is refused before hashing: the answer is the same as the INSERT's would
    # be (sign-up reveals registered emails by design, see the docs), without the argon2 cost.
    async with ctx.app.reader.connect() as connection:
        taken = await connection.scalar(sa.select(users.c.id).where(users.c.email == request.email))
    if taken is not None:
        raise BadUserInputError(ALREADY_REGISTERED, field="email")
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
    except IntegrityError:  # a concurrent sign-up with the same email won the race
        raise BadUserInputError(ALREADY_REGISTERED, field="email") from None


async def log_in(ctx: Caller, data: dict[str, Any]) -> AuthPayload:
    """Exchange email and password for tokens; limited per client address and per account."""
    request = parse_input(LogInInput, data)
    ctx.spend_password_hash()
    settings = ctx.app.settings
    await _charge(
        ctx,
        [
            (f"password:{address_bucket(ctx.client_ip)}", _per_address(ctx)),
            (f"login:{account_bucket(request.email)}", settings.rate_limit_login_per_account),
        ],
    )
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
    # The one exception to "one hash per request": a hash made with older parameters is
    # upgraded at its first successful log-in, which happens once per account.
    if ctx.app.passwords.needs_rehash(row["password_hash"]):
        new_hash = await ctx.app.passwords.hash(request.password)
    async with ctx.app.engine.begin() as connection:
        if new_hash is not None:
            await connection.execute(
                sa.update(users).where(users.c.id == row["id"]).values(password_hash=new_hash)
            )
        return await _start_session(ctx, connection, UserRecord.from_row(row))


async def charge_account_lookup(ctx: Caller) -> None:
    """Charge a lookup that reveals whether an email has an account (sign-up, addMember)."""
    await _charge(ctx, [(f"password:{address_bucket(ctx.client_ip)}", _per_address(ctx))])


def _per_address(ctx: Caller) -> int:
    return ctx.app.settings.rate_limit_login


async def _charge(ctx: Caller, buckets: list[tuple[str, int]]) -> None:
    """Count one password attempt in each bucket; ``RateLimitedError`` if any is full.

    Fail closed: when Redis fails, the password limiter counts in this process instead
    (``ratelimit.failover``); should no limiter answer at all, the attempt is refused. The
    general limits fail open instead; guessing passwords unthrottled is worse than a short
    log-in outage.
    """
    window = ctx.app.settings.rate_limit_window_seconds
    for key, limit in buckets:
        try:
            decision = await ctx.app.password_limiter.hit(key, limit=limit, window_seconds=window)
        except RateLimiterError as error:
            logger.warning("password rate limiter unavailable, attempt refused: %s", error)
            raise RateLimitedError(
                "log-in is unavailable for a moment, try again shortly",
                retry_after=LIMITER_DOWN_RETRY_SECONDS,
            ) from None
        if not decision.allowed:
            raise RateLimitedError(
                "too many password attempts, try again later", retry_after=decision.retry_after
            )


async def refresh(ctx: Caller, token: str) -> AuthPayload:
    """Rotate a refresh token; reusing a rotated one revokes its whole family.

    Rotation, revocation and log-out of one family are serialised by a transaction-level
    advisory lock on the family (``_lock_family``): without it, a revocation running while
    a refresh is mid-transaction updates the family as its snapshot saw it, and misses the
    token the refresh is inserting, which then lives on in a revoked session.
    """
    token_hash = ctx.app.tokens.hash_refresh_token(token)
    async with ctx.app.engine.begin() as connection:
        family_id = await _family_of(connection, token_hash)
        if family_id is None:
            raise UnauthenticatedError(REFRESH_REFUSED)
        await _lock_family(connection, family_id)
        # Read again under the lock: a new statement sees what the lock holder committed.
        row = (
            (
                await connection.execute(
                    sa.select(refresh_tokens).where(refresh_tokens.c.token_hash == token_hash)
                )
            )
            .mappings()
            .one()
        )
        now = dt.datetime.now(dt.UTC)
        if row["revoked_at"] is not None or row["expires_at"] <= now:
            raise UnauthenticatedError(REFRESH_REFUSED)
        if row["rotated_at"] is None:
            await connection.execute(
                sa.update(refresh_tokens)
                .where(refresh_tokens.c.id == row["id"])
                .values(rotated_at=sa.func.now())
            )
            # The user on the same connection: no second pooled connection while locked.
            user_row = (
                (await connection.execute(sa.select(users).where(users.c.id == row["user_id"])))
                .mappings()
                .one_or_none()
            )
            if user_row is None:  # pragma: no cover - the FK deletes tokens with their user
                raise UnauthenticatedError(REFRESH_REFUSED)
            return await _issue(ctx, connection, UserRecord.from_row(user_row), family_id=family_id)
        # A rotated token came back: someone kept a copy. End the whole session.
        await _revoke_family(connection, family_id)
    # Raised after the block so that the revocation is committed, not rolled back.
    raise UnauthenticatedError(REFRESH_REFUSED)


async def log_out(ctx: Caller, token: str) -> bool:
    """Revoke the session of ``token``. Always ``True``: unknown tokens reveal nothing."""
    token_hash = ctx.app.tokens.hash_refresh_token(token)
    async with ctx.app.engine.begin() as connection:
        family_id = await _family_of(connection, token_hash)
        if family_id is not None:
            await _lock_family(connection, family_id)
            await _revoke_family(connection, family_id)
    return True


async def _family_of(connection: AsyncConnection, token_hash: str) -> uuid.UUID | None:
    family_id: uuid.UUID | None = (
        await connection.execute(
            sa.select(refresh_tokens.c.family_id).where(refresh_tokens.c.token_hash == token_hash)
        )
    ).scalar_one_or_none()
    return family_id


async def _lock_family(connection: AsyncConnection, family_id: uuid.UUID) -> None:
    """Hold the family's advisory lock until the transaction ends (refresh, revoke, log out).

    The key is a 64-bit hash of the family id; a collision only makes two unrelated
    sessions wait for each other, never mixes them.
    """
    key = sa.func.hashtextextended(sa.cast(family_id, sa.Text), 0)
    await connection.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))


async def _revoke_family(connection: AsyncConnection, family_id: uuid.UUID) -> None:
    """Revoke every live token of the family; the caller holds the family's lock."""
    await connection.execute(
        sa.update(refresh_tokens)
        .where(refresh_tokens.c.family_id == family_id, refresh_tokens.c.revoked_at.is_(None))
        .values(revoked_at=sa.func.now())
    )


async def _start_session(ctx: Caller, connection: AsyncConnection, user: UserRecord) -> AuthPayload:
    return await _issue(ctx, connection, user, family_id=uuid.uuid4())


async def _issue(
    ctx: Caller, connection: AsyncConnection, user: UserRecord, *, family_id: uuid.UUID
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
