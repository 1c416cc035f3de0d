"""What `opsctl init` found in a service's repository: data, apart from how it is written out."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Found:
    """One thing `init` decided, and the file that told it (shown to the user)."""

    what: str
    value: str
    source: str


@dataclass
class Inspection:
    """Everything `opsctl init` learnt about one repository."""

    root: Path
    name: str
    source: list[str] = field(default_factory=lambda: ["src"])
    app: str | None = None
    app_framework: str | None = None  # fastapi, starlette, flask
    app_is_factory: bool = False
    api: str | None = None  # graphql (ariadne, strawberry, graphene) or openapi
    openapi_url: str | None = None
    tests: list[str] = field(default_factory=lambda: ["python", "-m", "pytest"])
    has_tests: bool = False
    tests_expect_schema: bool = False  # migrations, and no create_all/alembic in the tests
    migrations: str | None = None  # alembic.ini, relative to root
    migration_scripts: str | None = None  # its script_location (env.py, versions/), relative
    revisions: list[Path] = field(default_factory=list)
    metadata: str | None = None
    seed: str | None = None  # an opsctl seed plan, 'module:attribute'
    lock: str | None = None
    other_locks: list[str] = field(default_factory=list)
    database_env: dict[str, str] | None = None  # None: opsctl's default, DATABASE_URL
    uses_database: bool = False
    env_files: list[str] = field(default_factory=list)
    required_settings: list[str] = field(default_factory=list)  # no default, not in a .env
    found: list[Found] = field(default_factory=list)
    undecided: list[str] = field(default_factory=list)

    def note(self, what: str, value: str, source: Path | str) -> None:
        shown = source.relative_to(self.root) if isinstance(source, Path) else source
        self.found.append(Found(what, value, str(shown)))
