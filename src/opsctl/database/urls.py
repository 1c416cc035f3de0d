"""PostgreSQL URLs: switch the database, convert between libpq and SQLAlchemy forms, mask."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def with_database(url: str, database: str) -> str:
    """``url`` with its database name replaced by ``database``."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


def to_sqlalchemy(url: str) -> str:
    """A libpq URL as SQLAlchemy wants it for psycopg 3 (``postgresql+psycopg://``)."""
    scheme, _, rest = url.partition("://")
    if scheme in ("postgres", "postgresql"):
        return f"postgresql+psycopg://{rest}"
    return url


def to_libpq(url: str) -> str:
    """A SQLAlchemy URL (``postgresql+psycopg://``) as libpq/psycopg want it."""
    scheme, _, rest = url.partition("://")
    if scheme.startswith("postgresql+") or scheme == "postgres":
        return f"postgresql://{rest}"
    return url


def mask_password(url: str) -> str:
    """``url`` with any password replaced by ``***``, for output and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo = f"{parts.username}:***" if parts.username else ":***"
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, f"{userinfo}@{host}", parts.path, parts.query, parts.fragment))
