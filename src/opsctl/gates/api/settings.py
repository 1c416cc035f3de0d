"""The ``api`` section of ``checks/definition-of-done.yaml``: how to attack the running service.

Every key has a default that works for a GraphQL service at ``/graphql`` with ``/healthz``;
the authentication and authorization families need a log-in flow (``login``) and personas,
and are reported as *not run* without them (never as passed).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from opsctl.config.durations import parse_duration
from opsctl.config.models import StrictModel

Family = Literal[
    "denial_of_service", "cost", "authentication", "authorization", "exposure", "fuzzing"
]
FAMILIES: tuple[Family, ...] = (
    "exposure",
    "authentication",
    "authorization",
    "cost",
    "fuzzing",
    "denial_of_service",  # last: a vulnerable service may stay busy after it
)
#: Families that change data or cost the service real work: never against a protected environment.
UNSAFE_FAMILIES: frozenset[Family] = frozenset(
    {"denial_of_service", "cost", "authorization", "fuzzing"}
)


#: ``extensions.code`` values that mean "the client's input was refused", not "the server
#: failed": Apollo's and the reference API's codes.
CLIENT_ERROR_CODES = (
    "BAD_USER_INPUT",
    "BAD_REQUEST",
    "GRAPHQL_VALIDATION_FAILED",
    "GRAPHQL_PARSE_FAILED",
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "NOT_FOUND",
    "CONFLICT",
    "RATE_LIMITED",
    "PERSISTED_QUERY_NOT_FOUND",
)


class Persona(StrictModel):
    """A user the probes log in as. Two personas in different tenants drive authorization."""

    email: str = Field(min_length=1, description="Log-in name (the {email} of the log-in flow).")
    password: str = Field(min_length=1, description="Password, usually ${SEED_PASSWORD}.")
    tenant: str = Field(default="", description="Which tenant the persona belongs to (a label).")


class LoginFlow(StrictModel):
    """How a client signs in, refreshes and signs out (GraphQL documents with variables).

    ``access_token`` and ``refresh_token`` are dotted paths into the log-in answer's ``data``.
    The variables ``$email`` and ``$password`` are filled from a persona; ``$refreshToken``
    from the last answer.
    """

    document: str = Field(min_length=1, description="Log-in mutation, variables $email, $password.")
    access_token: str = Field(description="Path of the token in data: logIn.accessToken.")
    refresh_token: str | None = Field(default=None, description="Path of the refresh token.")
    refresh: str | None = Field(default=None, description="Refresh mutation, $refreshToken.")
    log_out: str | None = Field(default=None, description="Log-out mutation, $refreshToken.")
    protected: str = Field(
        default="query { __typename }",
        description="A query that needs a valid access token (it must fail without one).",
    )
    sign_up: str | None = Field(
        default=None,
        description="Sign-up mutation ($email, $password, $name): a fresh account in no tenant.",
    )
    header: str = Field(default="Authorization", description="Header that carries the token.")
    scheme: str = Field(default="Bearer", description="Prefix of the header's value.")


class AcceptedProbe(StrictModel):
    """A probe finding the team accepted, with why and until when (like security findings)."""

    probe: str = Field(pattern=r"^api/[a-z0-9-]+$", description="Probe id: api/exposure-metrics.")
    reason: str = Field(min_length=1, description="Why it is accepted (required).")
    expires: dt.date = Field(description="Last day the acceptance holds (YYYY-MM-DD).")


class FuzzingSettings(StrictModel):
    """schemathesis, bounded in examples and time."""

    max_examples: int = Field(default=20, ge=1, le=10_000, description="Examples per operation.")
    max_time: float = Field(default=20.0, gt=0, description="Whole fuzzing run (duration).")
    seed: int = Field(default=1, description="Hypothesis seed: the same run, run after run.")
    client_error_codes: list[str] = Field(
        default_factory=lambda: list(CLIENT_ERROR_CODES),
        description="GraphQL error codes (extensions.code) that mean the input was refused.",
    )

    @field_validator("max_time", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        return parse_duration(value)


class ApiSettings(StrictModel):
    """Which probes run against the service, and the budgets they hold it to."""

    kind: Literal["graphql", "rest"] = Field(default="graphql", description="GraphQL or REST.")
    endpoint: str = Field(default="/graphql", pattern=r"^/", description="GraphQL path.")
    openapi: str = Field(default="/openapi.json", pattern=r"^/", description="REST schema path.")
    schema_files: list[str] = Field(
        default_factory=list,
        description="SDL files (globs) when introspection is off, e.g. src/app/schemas/*.graphql.",
    )
    health: str = Field(default="/healthz", pattern=r"^/", description="Health-check path.")
    metrics: str = Field(default="/metrics", pattern=r"^/", description="Metrics path (exposure).")
    budget: float = Field(
        default=1.0, gt=0, description="A hostile request must be refused within this (duration)."
    )
    families: list[Family] = Field(
        default_factory=lambda: list(FAMILIES), min_length=1, description="Probe families to run."
    )
    seed_scale: str = Field(default="small", description="Seed scale for local runs.")
    service_environment: dict[str, str] = Field(
        default_factory=dict,
        description="Production settings of the service opsctl starts (e.g. APP_ENV: production).",
    )
    login: LoginFlow | None = Field(default=None, description="Log-in flow for the auth probes.")
    personas: list[Persona] = Field(default_factory=list, description="Users the probes act as.")
    login_attempts: int = Field(
        default=30, ge=2, le=200, description="Failed log-ins a brute-force probe may send."
    )
    fuzzing: FuzzingSettings = Field(default_factory=FuzzingSettings)
    accepted: list[AcceptedProbe] = Field(default_factory=list)

    @field_validator("budget", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        return parse_duration(value)

    @model_validator(mode="after")
    def _distinct_families(self) -> ApiSettings:
        if len(set(self.families)) != len(self.families):
            raise ValueError("families: each family once")
        return self
