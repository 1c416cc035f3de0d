"""The process-wide services every request runs with, built once by the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from reference_api.cache.interface import MembershipCache
from reference_api.config import Settings
from reference_api.ratelimit.interface import RateLimiter
from reference_api.security.passwords import PasswordService
from reference_api.security.tokens import TokenService


@dataclass(frozen=True, slots=True)
class AppState:
    """Long-lived services shared by all requests of one process."""

    settings: Settings
    engine: AsyncEngine
    #: The same pool in AUTOCOMMIT mode, for the loaders' single SELECTs: no transaction, so
    #: no BEGIN and ROLLBACK round trips around each batch.
    reader: AsyncEngine
    passwords: PasswordService
    tokens: TokenService
    rate_limiter: RateLimiter
    #: For password attempts: never unthrottled (``ratelimit.failover``).
    password_limiter: RateLimiter
    membership_cache: MembershipCache
