"""The runbook file format (``runbooks/<name>.yaml``), documented in ``docs/runbooks.md``.

Models only check shape and types; cross-references (step ids in templates, secrets in places
where they could leak, mutating steps without a timeout) are checked by :mod:`.load`.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from opsctl.config.durations import Duration, TemplatedDuration
from opsctl.config.models import StrictModel

STEP_TYPES = ("http", "graphql", "sql", "shell", "wait", "confirm", "manual", "sleep")
PROBE_TYPES = ("http", "graphql", "sql", "shell")
HUMAN_TYPES = ("confirm", "manual")
_ID = r"^[a-z][a-z0-9_]*$"
# HTTP methods that only read (RFC 9110 "safe"); every other method is a write
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# GraphQL operations that may change something (a subscription keeps working on the server)
WRITING_OPERATIONS = frozenset({"mutation", "subscription"})


@functools.cache
def graphql_operations(query: str) -> frozenset[str]:
    """The operation types (query, mutation, subscription) a GraphQL document defines.

    Parsed, not matched: a comment or a fragment before ``mutation`` must not hide a write.
    Raises ``ValueError`` naming the line and column of a syntax error.
    """
    from graphql import GraphQLSyntaxError, OperationDefinitionNode, parse

    try:
        document = parse(query)
    except GraphQLSyntaxError as error:
        where = error.locations[0] if error.locations else None
        at = f" (query line {where.line}, column {where.column})" if where else ""
        raise ValueError(f"GraphQL syntax error{at}: {error.message}") from None
    return frozenset(
        node.operation.value
        for node in document.definitions
        if isinstance(node, OperationDefinitionNode)
    )


class HttpSpec(StrictModel):
    method: Literal["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    url: str = Field(description="Absolute URL, or a path such as /healthz on the env's url.")
    headers: dict[str, str] = Field(default_factory=dict)
    json_body: Any = Field(default=None, alias="json")
    expect_status: list[int] = Field(
        default_factory=list, alias="expect", description="Accepted statuses (default 2xx)."
    )

    @field_validator("expect_status", mode="before")
    @classmethod
    def _one_status(cls, value: Any) -> Any:
        return [value] if isinstance(value, int) else value


class GraphqlSpec(StrictModel):
    url: str = Field(default="/graphql", description="Endpoint (default the env's /graphql).")
    query: str
    variables: dict[str, Any] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict)

    @field_validator("query")
    @classmethod
    def _parses(cls, value: str) -> str:
        if not graphql_operations(value):
            raise ValueError("a GraphQL document needs an operation (query, mutation, ...)")
        return value

    @property
    def is_mutation(self) -> bool:
        """True when any operation of the document is a mutation or a subscription."""
        return bool(graphql_operations(self.query) & WRITING_OPERATIONS)


class SqlSpec(StrictModel):
    query: str = Field(description="SQL text with %(name)s placeholders; never templated.")
    params: dict[str, Any] = Field(default_factory=dict, description="Bind parameters.")
    row_limit: int = Field(default=100, ge=1, le=10_000)
    expect_rows_affected: int | str | None = Field(
        default=None, description="Rows the statement must touch, else it is rolled back."
    )


class ShellSpec(StrictModel):
    command: list[str] = Field(min_length=1, description="Argument list; never templated.")
    env: dict[str, str] = Field(default_factory=dict, description="Templated variables.")
    cwd: str | None = Field(default=None, description="Relative to the repository root.")
    expect_exit: list[int] = Field(default_factory=lambda: [0])


class ProbeSpec(StrictModel):
    """What a ``wait`` step polls: exactly one read-only request."""

    http: HttpSpec | None = None
    graphql: GraphqlSpec | None = None
    sql: SqlSpec | None = None
    shell: ShellSpec | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ProbeSpec:
        given = [name for name in PROBE_TYPES if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("a probe has exactly one of: " + ", ".join(PROBE_TYPES))
        return self

    @property
    def kind(self) -> str:
        return next(name for name in PROBE_TYPES if getattr(self, name) is not None)


class WaitSpec(StrictModel):
    probe: ProbeSpec
    until: str = Field(description="Condition on `result` that ends the wait successfully.")
    fail_if: str | None = Field(default=None, description="Condition that ends it as failed.")
    interval: Duration = 2.0
    backoff: float = Field(default=1.5, ge=1.0, le=10.0)
    max_interval: Duration = 30.0


class ConfirmSpec(StrictModel):
    message: str


class ManualSpec(StrictModel):
    instructions: str
    prompt: str | None = Field(
        default=None, description="A question whose free-text answer is recorded."
    )


class SleepSpec(StrictModel):
    duration: TemplatedDuration


class RetrySpec(StrictModel):
    attempts: int = Field(default=3, ge=1, le=20)
    backoff: Literal["fixed", "exponential"] = "exponential"
    delay: Duration = 1.0
    max_delay: Duration = 30.0
    jitter: bool = True


class Step(StrictModel):
    id: str = Field(pattern=_ID)
    name: str | None = None
    description: str | None = Field(default=None, description="What it does, for the human.")
    http: HttpSpec | None = None
    graphql: GraphqlSpec | None = None
    sql: SqlSpec | None = None
    shell: ShellSpec | None = None
    wait: WaitSpec | None = None
    confirm: ConfirmSpec | None = None
    manual: ManualSpec | None = None
    sleep: SleepSpec | None = None
    when: str | None = None
    mutating: bool | None = None
    idempotent: bool = False
    timeout: Duration | None = None
    retry: RetrySpec | None = None
    outputs: dict[str, str] = Field(default_factory=dict)
    asserts: list[str] = Field(default_factory=list, alias="assert")
    on_failure: Literal["abort", "continue"] = "abort"
    sensitive: bool = False

    @field_validator("asserts", mode="before")
    @classmethod
    def _one_assert(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _exactly_one_type(self) -> Step:
        given = [name for name in STEP_TYPES if getattr(self, name) is not None]
        if len(given) != 1:
            found = ", ".join(given) if given else "none"
            raise ValueError(
                f"a step has exactly one type of: {', '.join(STEP_TYPES)} (found {found})"
            )
        return self

    @property
    def kind(self) -> str:
        return next(name for name in STEP_TYPES if getattr(self, name) is not None)

    @property
    def spec(self) -> StrictModel:
        value: StrictModel = getattr(self, self.kind)
        return value

    @property
    def writes_by_type(self) -> bool:
        """A write whatever the file declares: an unsafe HTTP method or a GraphQL mutation."""
        if self.http is not None:
            return self.http.method not in SAFE_METHODS
        return self.graphql is not None and self.graphql.is_mutation

    @property
    def is_mutating(self) -> bool:
        """A write by type always mutates; else as declared, else from the type (shell writes).

        Declaring a write ``mutating: false`` is a validation error (:mod:`.load`); even so it
        never turns a write into a read here.
        """
        if self.writes_by_type:
            return True
        if self.mutating is not None:
            return self.mutating
        return self.shell is not None

    @property
    def title(self) -> str:
        return self.name or self.id


ParamType = Literal["string", "int", "float", "bool", "enum", "duration"]


class Param(StrictModel):
    type: ParamType = "string"
    description: str | None = None
    required: bool = False
    default: Any = None
    pattern: str | None = None
    min: float | None = None
    max: float | None = None
    values: list[str] | None = Field(default=None, description="The choices of an enum.")

    @model_validator(mode="after")
    def _consistent(self) -> Param:
        if self.type == "enum" and not self.values:
            raise ValueError("an enum parameter lists its `values`")
        if self.type != "enum" and self.values is not None:
            raise ValueError("`values` is only for enum parameters")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as error:
                raise ValueError(f"invalid pattern: {error}") from None
        return self


class Runbook(StrictModel):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    summary: str
    description: str = ""
    owners: list[str] = Field(min_length=1)
    alerts: list[str] = Field(default_factory=list)
    environments: list[str] = Field(
        default_factory=list, description="Where it may run (empty: any environment)."
    )
    params: dict[str, Param] = Field(default_factory=dict)
    secrets: dict[str, str] = Field(
        default_factory=dict, description="References only: env:VAR or file:PATH."
    )
    steps: list[Step] = Field(min_length=1)

    @field_validator("secrets")
    @classmethod
    def _references(cls, value: dict[str, str]) -> dict[str, str]:
        for name, ref in value.items():
            if not re.match(r"^(env:[A-Za-z_][A-Za-z0-9_]*|file:.+)$", ref):
                raise ValueError(
                    f"secret {name!r} must be a reference env:VAR or file:PATH, never a value"
                )
        return value

    def step(self, step_id: str) -> Step:
        return next(step for step in self.steps if step.id == step_id)
