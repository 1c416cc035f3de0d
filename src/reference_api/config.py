"""Configuration: environment variables only, validated once at start-up.

Every variable is listed in ``docs/reference-api.md`` (one table). ``Settings.from_environ``
is the only place that reads them; the rest of the code receives a ``Settings``.
"""

from __future__ import annotations

import enum
import ipaddress
import math
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

#: The shortest JWT secret production accepts, per algorithm: at least the hash size
#: (RFC 7518, section 3.2).
MIN_PRODUCTION_SECRET_LENGTH = {"HS256": 32, "HS384": 48, "HS512": 64}
#: The least estimated entropy (bits) production accepts, per algorithm: half the hash size.
#: The estimate (see ``secret_entropy_bits``) undercounts truly random secrets, so half is
#: safe for them (``secrets.token_urlsafe(32)`` scores ~200) and refuses "k" * 48 (0 bits),
#: repeated words and short alphabets.
MIN_PRODUCTION_SECRET_BITS = {"HS256": 128, "HS384": 192, "HS512": 256}
#: Secrets people paste from tutorials; refused in production whatever their length.
KNOWN_WEAK_SECRETS = frozenset({"changeme", "changethis", "secret", "development", "test"})
ALLOWED_JWT_ALGORITHMS = ("HS256", "HS384", "HS512")

PositiveInt = Annotated[int, Field(gt=0)]


class AppEnv(enum.StrEnum):
    """Where the service runs; ``production`` switches every safety default on."""

    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class SettingsError(ValueError):
    """The environment does not describe a service that may start (message names the variable)."""


class Settings(BaseModel):
    """The validated configuration; field aliases are the environment variable names."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    database_url: str = Field(alias="DATABASE_URL", min_length=1)
    redis_url: str | None = Field(default=None, alias="REDIS_URL")
    redis_key_prefix: str = Field(default="refapi:", alias="REDIS_KEY_PREFIX")
    # Connect and read timeouts: a hung Redis must cost a request this much, not seconds.
    redis_timeout_seconds: float = Field(default=0.5, gt=0, le=10, alias="REDIS_TIMEOUT_SECONDS")
    # Safe by default: a deployment that forgets APP_ENV gets production (and must then give a
    # strong JWT_SECRET); developers and tests ask for development/test explicitly.
    app_env: AppEnv = Field(default=AppEnv.PRODUCTION, alias="APP_ENV")
    jwt_secret: SecretStr = Field(default=SecretStr(""), alias="JWT_SECRET")
    jwt_algorithm: str = Field(default="HS256", alias="JWT_ALGORITHM")
    jwt_issuer: str = Field(default="reference-api", alias="JWT_ISSUER")
    jwt_audience: str = Field(default="reference-api-clients", alias="JWT_AUDIENCE")
    access_token_ttl_seconds: PositiveInt = Field(default=900, alias="ACCESS_TOKEN_TTL_SECONDS")
    refresh_token_ttl_seconds: PositiveInt = Field(
        default=30 * 24 * 3600, alias="REFRESH_TOKEN_TTL_SECONDS"
    )
    cors_origins: tuple[str, ...] = Field(default=(), alias="CORS_ORIGINS")
    # Proxies whose X-Forwarded-For is believed (addresses or CIDR blocks); none by default.
    trusted_proxies: tuple[str, ...] = Field(default=(), alias="TRUSTED_PROXIES")
    # Connections cost two levels (edges, node): a list three relations deep is already 12.
    max_query_depth: PositiveInt = Field(default=15, alias="MAX_QUERY_DEPTH")
    max_query_aliases: PositiveInt = Field(default=15, alias="MAX_QUERY_ALIASES")
    max_query_tokens: PositiveInt = Field(default=2000, alias="MAX_QUERY_TOKENS")
    # Objects one document may return at most: 100 tasks with their first 100 comments and
    # authors fit; four nested lists of 20 do not.
    max_query_cost: PositiveInt = Field(default=50_000, alias="MAX_QUERY_COST")
    # Fields one operation selects with its fragments expanded, the times one response key
    # may appear in one selection set, and directives per document: what graphql-core's own
    # rules (field merging, directives) would otherwise pay for.
    max_query_fields: PositiveInt = Field(default=500, alias="MAX_QUERY_FIELDS")
    max_query_field_repeats: PositiveInt = Field(default=10, alias="MAX_QUERY_FIELD_REPEATS")
    max_query_directives: PositiveInt = Field(default=20, alias="MAX_QUERY_DIRECTIVES")
    max_body_bytes: PositiveInt = Field(default=100_000, alias="MAX_BODY_BYTES")
    rate_limit_per_ip: PositiveInt = Field(default=600, alias="RATE_LIMIT_PER_IP")
    rate_limit_per_user: PositiveInt = Field(default=300, alias="RATE_LIMIT_PER_USER")
    # Password attempts (logIn, signUp) per client address (IPv6 by /64), and log-ins per
    # account from any address (credential stuffing, password spraying).
    rate_limit_login: PositiveInt = Field(default=10, alias="RATE_LIMIT_LOGIN")
    rate_limit_login_per_account: PositiveInt = Field(
        default=10, alias="RATE_LIMIT_LOGIN_PER_ACCOUNT"
    )
    # argon2 hashes one request may cost (aliased signUp/logIn fields beyond are refused).
    max_password_hashes_per_request: PositiveInt = Field(
        default=1, alias="MAX_PASSWORD_HASHES_PER_REQUEST"
    )
    rate_limit_window_seconds: PositiveInt = Field(default=60, alias="RATE_LIMIT_WINDOW_SECONDS")
    membership_cache_seconds: PositiveInt = Field(default=60, alias="MEMBERSHIP_CACHE_SECONDS")
    db_pool_size: PositiveInt = Field(default=10, alias="DB_POOL_SIZE")
    db_max_overflow: int = Field(default=10, ge=0, alias="DB_MAX_OVERFLOW")
    # OWASP Password Storage Cheat Sheet, argon2id: m=19 MiB, t=2, p=1 (~25 ms of one core
    # here). argon2-cffi's own defaults (t=3, 64 MiB, p=4) cost ~0.2 s of CPU over 4 lanes:
    # on a 2-core host, logins alone then saturate the service. Hashes made with other
    # parameters still verify and are rehashed with these at the next log-in.
    argon2_time_cost: PositiveInt = Field(default=2, alias="ARGON2_TIME_COST")
    argon2_memory_cost_kib: PositiveInt = Field(default=19456, alias="ARGON2_MEMORY_COST_KIB")
    argon2_parallelism: PositiveInt = Field(default=1, alias="ARGON2_PARALLELISM")
    # Several worker processes: each writes its metrics here and /metrics merges them all
    # (prometheus-client reads the variable itself, from the process environment).
    prometheus_multiproc_dir: str | None = Field(default=None, alias="PROMETHEUS_MULTIPROC_DIR")
    log_level: str = Field(default="INFO", alias="LOG_LEVEL")
    host: str = Field(default="127.0.0.1", alias="HOST")
    port: int = Field(default=8000, ge=0, le=65535, alias="PORT")

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(origin.strip() for origin in value.split(",") if origin.strip())
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = tuple(entry.strip() for entry in value.split(",") if entry.strip())
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError("must be IP addresses or CIDR blocks, comma-separated") from None
        return value

    @field_validator("prometheus_multiproc_dir")
    @classmethod
    def _existing_directory(cls, value: str | None) -> str | None:
        if value is not None and not Path(value).is_dir():
            raise ValueError("must be an existing directory (empty when the service starts)")
        return value

    @field_validator("jwt_algorithm")
    @classmethod
    def _known_algorithm(cls, value: str) -> str:
        if value not in ALLOWED_JWT_ALGORITHMS:
            raise ValueError(f"must be one of {', '.join(ALLOWED_JWT_ALGORITHMS)}")
        return value

    @model_validator(mode="after")
    def _secret_strong_enough(self) -> Self:
        secret = self.jwt_secret.get_secret_value()
        minimum = MIN_PRODUCTION_SECRET_LENGTH[self.jwt_algorithm]
        bits = MIN_PRODUCTION_SECRET_BITS[self.jwt_algorithm]
        if self.is_production and (
            len(secret) < minimum
            or secret.lower() in KNOWN_WEAK_SECRETS
            or secret_entropy_bits(secret) < bits
        ):
            raise ValueError(
                f"JWT_SECRET must be at least {minimum} random characters (about {bits} bits"
                f" of entropy) for {self.jwt_algorithm} when APP_ENV=production; generate one"
                " with: python -c 'import secrets; print(secrets.token_urlsafe(64))'"
            )
        if self.is_production and "*" in self.cors_origins:
            raise ValueError("CORS_ORIGINS must list origins, not '*', when APP_ENV=production")
        return self

    @property
    def is_production(self) -> bool:
        """Production hides introspection, GraphiQL, suggestions and unexpected messages."""
        return self.app_env is AppEnv.PRODUCTION

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``environ`` (default ``os.environ``); ``SettingsError`` names the variable.

        Outside production an unset ``JWT_SECRET`` becomes a random one for this process, so
        a developer can start the service at once (tokens then die with the process).
        """
        values = dict(os.environ if environ is None else environ)
        try:
            settings = cls.model_validate(values)
        except ValidationError as error:
            raise SettingsError(_describe(error)) from None
        if not settings.jwt_secret.get_secret_value():
            settings = settings.model_copy(
                update={"jwt_secret": SecretStr(secrets.token_urlsafe(32))}
            )
        return settings


def secret_entropy_bits(secret: str) -> float:
    """An estimate of a secret's entropy: its length times the Shannon entropy of its
    characters, after removing repeats of any substring (``abcabcabc`` scores like ``abc``).

    It cannot prove randomness, but it refuses what length checks let through: one
    character repeated, a word repeated, a short alphabet.
    """
    unit = _shortest_period(secret)
    if not unit:
        return 0.0
    counts: dict[str, int] = {}
    for character in unit:
        counts[character] = counts.get(character, 0) + 1
    per_character = -sum(n / len(unit) * math.log2(n / len(unit)) for n in counts.values())
    return per_character * len(unit)


def _shortest_period(text: str) -> str:
    """The shortest prefix whose repetition makes ``text`` (``text`` itself if none does)."""
    position = (text + text).find(text, 1)
    return text[:position] if 0 < position < len(text) else text


def _describe(error: ValidationError) -> str:
    """One line per problem, naming the environment variable (never echoing its value)."""
    problems = []
    for detail in error.errors(include_input=False, include_url=False):
        location = ".".join(str(part) for part in detail["loc"]) or "environment"
        problems.append(f"{location}: {detail['msg']}")
    return "invalid configuration: " + "; ".join(problems)
