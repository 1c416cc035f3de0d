"""Database URLs and the async engine (SQLAlchemy Core on psycopg 3, pooled)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def to_sqlalchemy_url(url: str) -> str:
    """A libpq URL (``postgresql://``, ``postgres://``) as SQLAlchemy wants it for psycopg 3."""
    scheme, separator, rest = url.partition("://")
    if separator and scheme in ("postgres", "postgresql"):
        return f"postgresql+psycopg://{rest}"
    return url


def create_engine(url: str, *, pool_size: int, max_overflow: int) -> AsyncEngine:
    """The application's engine: a bounded pool, connections checked before use."""
    return create_async_engine(
        to_sqlalchemy_url(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=True,
        pool_recycle=1800,
        # Error messages and logs show statements without their values (password hashes,
        # token hashes, emails).
        hide_parameters=True,
        # Fail fast instead of hanging requests when the server does not answer.
        connect_args={"connect_timeout": 5},
    )
