"""The application factory: ``uvicorn --factory --no-proxy-headers reference_api.app:create_app``.

(``--no-proxy-headers``: the app derives the client address itself, from ``TRUSTED_PROXIES``;
without the flag uvicorn believes ``X-Forwarded-For`` from loopback, which
``middleware.client_address`` then has to undo.)

``create_app`` wires configuration, middleware and routes; the lifespan opens the database
pool (and closes it and Redis on shutdown). Nothing happens at import time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Route

from reference_api.cache.interface import MembershipCache, NoMembershipCache
from reference_api.cache.redis import RedisMembershipCache
from reference_api.config import Settings
from reference_api.database import create_engine
from reference_api.graphql_api.endpoint import create_graphql_app
from reference_api.logs import configure_logging
from reference_api.metrics import Metrics
from reference_api.middleware.authentication import AuthenticationMiddleware
from reference_api.middleware.client_address import ClientAddress, parse_networks
from reference_api.middleware.error_shield import ErrorShieldMiddleware, http_error_handler
from reference_api.middleware.rate_limit import RateLimitMiddleware
from reference_api.middleware.request_guard import RequestGuardMiddleware
from reference_api.middleware.request_log import RequestLogMiddleware
from reference_api.middleware.security_headers import SecurityHeadersMiddleware
from reference_api.operations import healthz, metrics_endpoint, readyz
from reference_api.ratelimit.failover import FailoverRateLimiter
from reference_api.ratelimit.interface import RateLimiter
from reference_api.ratelimit.memory import MemoryRateLimiter
from reference_api.ratelimit.redis import RedisRateLimiter
from reference_api.security.passwords import PasswordService
from reference_api.security.tokens import TokenService
from reference_api.state import AppState


def create_app(settings: Settings | None = None) -> Starlette:
    """Build the service from ``settings`` (default: the environment)."""
    settings = settings or Settings.from_environ()
    configure_logging(settings.log_level)
    metrics = Metrics(settings.prometheus_multiproc_dir)
    tokens = TokenService(
        secret=settings.jwt_secret.get_secret_value(),
        algorithm=settings.jwt_algorithm,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        access_ttl_seconds=settings.access_token_ttl_seconds,
        refresh_ttl_seconds=settings.refresh_token_ttl_seconds,
    )
    passwords = PasswordService(
        time_cost=settings.argon2_time_cost,
        memory_cost_kib=settings.argon2_memory_cost_kib,
        parallelism=settings.argon2_parallelism,
    )
    redis_client = (
        aioredis.from_url(
            settings.redis_url,
            socket_connect_timeout=settings.redis_timeout_seconds,
            socket_timeout=settings.redis_timeout_seconds,
            # One try: the limits and the cache must answer fast or step aside, not retry.
            retry=None,
        )
        if settings.redis_url
        else None
    )
    rate_limiter: RateLimiter
    membership_cache: MembershipCache
    if redis_client is not None:
        rate_limiter = RedisRateLimiter(redis_client, prefix=settings.redis_key_prefix)
        membership_cache = RedisMembershipCache(
            redis_client,
            prefix=settings.redis_key_prefix,
            ttl_seconds=settings.membership_cache_seconds,
        )
    else:
        rate_limiter = MemoryRateLimiter()
        membership_cache = NoMembershipCache()
    password_limiter = FailoverRateLimiter(rate_limiter, MemoryRateLimiter())

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = create_engine(
            settings.database_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
        )
        app.state.services = AppState(
            settings=settings,
            engine=engine,
            reader=engine.execution_options(isolation_level="AUTOCOMMIT"),
            passwords=passwords,
            tokens=tokens,
            rate_limiter=rate_limiter,
            password_limiter=password_limiter,
            membership_cache=membership_cache,
        )
        try:
            async with metrics.watching_pool(engine):
                yield
        finally:
            await engine.dispose()
            if redis_client is not None:
                await redis_client.aclose()

    routes = [
        Route("/graphql", create_graphql_app(settings, metrics), methods=["GET", "POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_endpoint(metrics), methods=["GET"]),
    ]
    middleware = [
        Middleware(
            RequestLogMiddleware,
            metrics=metrics,
            client_address=ClientAddress(parse_networks(settings.trusted_proxies)),
        ),
        Middleware(SecurityHeadersMiddleware, production=settings.is_production),
        Middleware(ErrorShieldMiddleware, metrics=metrics),
        Middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
            max_age=600,
        ),
        Middleware(
            RequestGuardMiddleware,
            max_body_bytes=settings.max_body_bytes,
            metrics=metrics,
            production=settings.is_production,
        ),
        Middleware(AuthenticationMiddleware, tokens=tokens),
        Middleware(
            RateLimitMiddleware,
            limiter=rate_limiter,
            per_ip=settings.rate_limit_per_ip,
            per_user=settings.rate_limit_per_user,
            window_seconds=settings.rate_limit_window_seconds,
            metrics=metrics,
        ),
    ]
    app = Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers={HTTPException: http_error_handler(metrics)},
    )
    app.state.metrics = metrics
    return app
