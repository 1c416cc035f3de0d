"""The shape of ``opsctl.yaml``: the public interface users write against.

Keys documented in ``docs/configuration.md``; unknown keys are errors (``extra="forbid"``).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

EMBEDDED = "embedded"
_DATABASE_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")
_REDIS_SCHEMES = ("redis", "rediss", "unix")


class StrictModel(BaseModel):
    """Base for every configuration model: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ServiceConfig(StrictModel):
    """What opsctl needs to know about the service it verifies and operates."""

    name: str = Field(min_length=1, description="Service name, used in reports.")
    source: list[str] = Field(
        default_factory=lambda: ["src"],
        description="Code that security scans read and coverage measures (paths).",
    )
    app: str | None = Field(
        default=None,
        description=(
            "The app served for local runs, 'module:attribute': an ASGI app instance, a factory"
            " that returns one, or a WSGI app (told apart when it is loaded)."
        ),
    )
    start: list[str] | None = Field(
        default=None,
        min_length=1,
        description=(
            "The whole start command, as an argument list, for servers `app` cannot describe;"
            " '{host}' and '{port}' are filled in."
        ),
    )
    database_env: dict[str, str] | None = Field(
        default=None,
        description=(
            "How the service receives its database: variables and templates filled from the URL"
            " opsctl gives it ({url}, {sqlalchemy_url}, {host}, {port}, {user}, {password},"
            " {database}). Default: DATABASE_URL: '{url}'."
        ),
    )
    env: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Extra variables the service needs for its tests, migrations and server (take"
            " secrets from the environment with ${VAR})."
        ),
    )
    tests: list[str] = Field(
        default_factory=lambda: ["python", "-m", "pytest"],
        min_length=1,
        description="The service's test command, as an argument list.",
    )
    migrations: str | None = Field(
        default=None, description="Path of the Alembic config file; omit without a database."
    )
    metadata: str | None = Field(
        default=None, description="SQLAlchemy MetaData 'module:attribute', for drift checks."
    )

    @field_validator("database_env")
    @classmethod
    def _database_env(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        from opsctl.config.service_wiring import URL_PLACEHOLDERS, unknown_placeholders

        if value is not None and not value:
            raise ValueError("give at least one variable, or leave database_env out")
        for name, template in (value or {}).items():
            try:
                unknown = unknown_placeholders(template)
            except ValueError as error:
                raise ValueError(f"{name}: {error}") from None
            if unknown:
                raise ValueError(
                    f"{name}: unknown placeholder {{{unknown[0]}}}; known: "
                    + ", ".join("{" + part + "}" for part in URL_PLACEHOLDERS)
                )
        return value

    requirements: str | None = Field(
        default=None,
        description=(
            "Lock that the security gate audits: a pinned requirements file (hashed or not), "
            "uv.lock, poetry.lock or pylock.toml."
        ),
    )
    seed: str | None = Field(
        default=None, description="Seed plan 'module:attribute' used by `opsctl seed`."
    )


class EnvironmentConfig(StrictModel):
    """One place the service runs: local, staging, production, ..."""

    url: str = Field(description="Base URL of the service's HTTP API.")
    database_url: SecretStr | None = Field(
        default=None,
        description="PostgreSQL URL, or 'embedded' for a private server run by opsctl.",
    )
    redis_url: SecretStr | None = Field(default=None, description="Redis URL, if any.")
    protected: bool = Field(
        default=False,
        description="Refuses seeding and load; runbooks ask for a typed confirmation.",
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        scheme, separator, rest = value.partition("://")
        if scheme not in ("http", "https") or not separator or not rest.strip("/"):
            raise ValueError("expected an http:// or https:// URL")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: SecretStr | None) -> SecretStr | None:
        raw = "" if value is None else value.get_secret_value()
        if raw in ("", EMBEDDED) or raw.partition("://")[0] in _DATABASE_SCHEMES:
            return value
        raise ValueError(f"expected '{EMBEDDED}' or a postgresql:// URL")

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        raw = "" if value is None else value.get_secret_value()
        if raw == "" or raw.partition("://")[0] in _REDIS_SCHEMES:
            return value
        raise ValueError("expected a redis://, rediss:// or unix:// URL")

    @property
    def uses_embedded_database(self) -> bool:
        return self.database_url is not None and self.database_url.get_secret_value() == EMBEDDED


class ProjectConfig(StrictModel):
    """The whole of ``opsctl.yaml``."""

    service: ServiceConfig
    definition_of_done: str = Field(
        default="checks/definition-of-done.yaml",
        description="Path of the Definition of Done, relative to opsctl.yaml.",
    )
    environments: dict[str, EnvironmentConfig] = Field(default_factory=dict)


class LoadedProject(BaseModel):
    """A validated ``opsctl.yaml`` together with where it was found."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    config: ProjectConfig
    path: Path
    #: names of ``service.env`` whose value came from the environment (``${VAR}``): secrets,
    #: masked in every output, report and log
    secret_env: frozenset[str] = frozenset()

    @property
    def secret_values(self) -> list[str]:
        """The values of the secret ``service.env`` variables (empty ones left out)."""
        env = self.config.service.env
        return [env[name] for name in sorted(self.secret_env) if env.get(name)]

    @property
    def root(self) -> Path:
        """The service repository's root: the folder that holds ``opsctl.yaml``."""
        return self.path.parent

    def resolve(self, relative: str) -> Path:
        """A path from the configuration, resolved against the repository root."""
        return (self.root / relative).resolve()
