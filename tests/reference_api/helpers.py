"""Test helpers: a GraphQL client over the in-process app, and short-cuts for common setups."""

from __future__ import annotations

import io
import itertools
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette

from reference_api.app import create_app
from reference_api.cache.interface import NoMembershipCache
from reference_api.config import Settings
from reference_api.context import RequestContext
from reference_api.database import create_engine
from reference_api.logs import LOGGER_NAME, JsonFormatter
from reference_api.ratelimit.memory import MemoryRateLimiter
from reference_api.security.passwords import PasswordService
from reference_api.security.tokens import TokenService
from reference_api.state import AppState

#: Cheap argon2 for tests only: production defaults take ~50 ms per hash by design.
TEST_ENVIRONMENT = {
    "APP_ENV": "test",
    "JWT_SECRET": "test-secret-that-is-long-enough-for-hs256-000",
    "ARGON2_TIME_COST": "1",
    "ARGON2_MEMORY_COST_KIB": "8",
    "ARGON2_PARALLELISM": "1",
    "RATE_LIMIT_PER_IP": "100000",
    "RATE_LIMIT_PER_USER": "100000",
    "RATE_LIMIT_LOGIN": "100000",
    "DB_POOL_SIZE": "5",
    "LOG_LEVEL": "WARNING",
}

PASSWORD = "correct horse battery"
_emails = itertools.count()


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}{next(_emails)}@example.test"


@dataclass
class Session:
    """A signed-up user: their id, email and tokens."""

    user_id: str
    email: str
    access_token: str
    refresh_token: str


class Api:
    """POST GraphQL documents to the app, as an anonymous client or as a user."""

    def __init__(self, client: httpx.AsyncClient, app: Starlette) -> None:
        self.client = client
        self.app = app

    async def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        operation_name: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        body: dict[str, Any] = {"query": query, "variables": variables or {}}
        if operation_name:
            body["operationName"] = operation_name
        all_headers = dict(headers or {})
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        return await self.client.post("/graphql", json=body, headers=all_headers)

    async def gql(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        operation_name: str | None = None,
    ) -> dict[str, Any]:
        """The response body; any HTTP status (GraphQL errors come with 200 or 400)."""
        response = await self.post(query, variables, token=token, operation_name=operation_name)
        payload: dict[str, Any] = response.json()
        return payload

    async def data(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> dict[str, Any]:
        """The ``data`` of a request that must succeed."""
        payload = await self.gql(query, variables, token=token)
        assert "errors" not in payload, payload
        data: dict[str, Any] = payload["data"]
        return data

    async def sign_up(self, name: str = "Ada", email: str | None = None) -> Session:
        email = email or unique_email(name.lower())
        data = await self.data(
            """mutation($input: SignUpInput!) {
                 signUp(input: $input) { accessToken refreshToken user { id email } }
               }""",
            {"input": {"email": email, "password": PASSWORD, "name": name}},
        )
        payload = data["signUp"]
        return Session(
            user_id=payload["user"]["id"],
            email=email,
            access_token=payload["accessToken"],
            refresh_token=payload["refreshToken"],
        )

    async def create_workspace(self, session: Session, name: str = "Acme") -> str:
        data = await self.data(
            "mutation($name: String!) { createWorkspace(input: {name: $name}) { id } }",
            {"name": name},
            token=session.access_token,
        )
        workspace_id: str = data["createWorkspace"]["id"]
        return workspace_id

    async def add_member(
        self, owner: Session, workspace_id: str, member: Session, role: str
    ) -> None:
        await self.data(
            """mutation($input: AddMemberInput!) { addMember(input: $input) { id } }""",
            {"input": {"workspaceId": workspace_id, "email": member.email, "role": role}},
            token=owner.access_token,
        )

    async def create_project(
        self, session: Session, workspace_id: str, name: str = "Apollo"
    ) -> str:
        data = await self.data(
            """mutation($input: CreateProjectInput!) { createProject(input: $input) { id } }""",
            {"input": {"workspaceId": workspace_id, "name": name}},
            token=session.access_token,
        )
        project_id: str = data["createProject"]["id"]
        return project_id

    async def create_task(self, session: Session, project_id: str, **fields: Any) -> str:
        data = await self.data(
            """mutation($input: CreateTaskInput!) { createTask(input: $input) { id } }""",
            {"input": {"projectId": project_id, "title": "A task", **fields}},
            token=session.access_token,
        )
        task_id: str = data["createTask"]["id"]
        return task_id

    async def add_comment(self, session: Session, task_id: str, body: str = "Looks good") -> str:
        data = await self.data(
            """mutation($input: AddCommentInput!) { addComment(input: $input) { id } }""",
            {"input": {"taskId": task_id, "body": body}},
            token=session.access_token,
        )
        comment_id: str = data["addComment"]["id"]
        return comment_id


@asynccontextmanager
async def running_api(settings: Settings) -> AsyncIterator[Api]:
    """The app built from ``settings``, its lifespan running, behind an in-process client."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Api(client, app)


def error_codes(payload: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in payload.get("errors", [])]


@contextmanager
def captured_json_logs() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Capture the service's JSON log lines (as the stdout handler would print them)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(LOGGER_NAME)
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def build_state(settings: Settings, **overrides: object) -> AppState:
    engine = create_engine(settings.database_url, pool_size=2, max_overflow=2)
    fields: dict[str, object] = {
        "settings": settings,
        "engine": engine,
        "reader": engine.execution_options(isolation_level="AUTOCOMMIT"),
        "passwords": PasswordService(
            time_cost=settings.argon2_time_cost,
            memory_cost_kib=settings.argon2_memory_cost_kib,
            parallelism=settings.argon2_parallelism,
        ),
        "tokens": TokenService(
            secret=settings.jwt_secret.get_secret_value(),
            algorithm=settings.jwt_algorithm,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            access_ttl_seconds=settings.access_token_ttl_seconds,
            refresh_ttl_seconds=settings.refresh_token_ttl_seconds,
        ),
        "rate_limiter": MemoryRateLimiter(),
        "password_limiter": MemoryRateLimiter(),
        "membership_cache": NoMembershipCache(),
    }
    fields.update(overrides)
    return AppState(**fields)  # type: ignore[arg-type]


ContextFactory = Callable[[uuid.UUID | None], RequestContext]


# --- real servers (subprocesses) ---------------------------------------------------------

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    """A port the OS says is free on loopback (bound to 0, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def server_environment(database_url: str, port: int) -> dict[str, str]:
    return {
        **os.environ,
        **TEST_ENVIRONMENT,
        "DATABASE_URL": database_url,
        "PORT": str(port),
        "LOG_LEVEL": "INFO",
    }


def wait_until_healthy(
    base_url: str, process: subprocess.Popen[bytes], timeout: float = 20
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited early with {process.returncode}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("server did not become healthy")


@contextmanager
def running_server(
    command: list[str], environment: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Run the server with its output in ``log`` (a pipe could fill up and block it)."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=REPOSITORY_ROOT, env=environment, stdout=output, stderr=output
        )
        try:
            yield process
        finally:
            # Ctrl-C: uvicorn shuts down gracefully and the interpreter exits normally (coverage
            # data of the subprocess is written; a SIGTERM would end it without that).
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
