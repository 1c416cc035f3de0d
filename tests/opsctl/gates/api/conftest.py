"""The api gate's fixture services, served by uvicorn on loopback for one test module."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from opsctl.gates.api.probe import ProbeTarget
from opsctl.gates.api.settings import ApiSettings, LoginFlow, Persona
from opsctl.serving.service import free_port

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "api"


def _serve(name: str) -> Iterator[ProbeTarget]:
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "app:create_app", "--app-dir",
        str(FIXTURES / name), "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
        "--no-proxy-headers",  # as opsctl serves a service: the vulnerable one reads them itself
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail(f"fixture service {name} did not start")
        yield ProbeTarget(base_url=url)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def vulnerable() -> Iterator[ProbeTarget]:
    yield from _serve("vulnerable")


@pytest.fixture(scope="module")
def hardened() -> Iterator[ProbeTarget]:
    yield from _serve("hardened")


@pytest.fixture(scope="module")
def rest_vulnerable() -> Iterator[ProbeTarget]:
    yield from _serve("rest_vulnerable")


@pytest.fixture(scope="module")
def rest_hardened() -> Iterator[ProbeTarget]:
    yield from _serve("rest_hardened")


#: The log-in flow both GraphQL fixtures serve (tests/fixtures/api/_common/schema.graphql).
LOGIN = LoginFlow(
    document="mutation($email: String!, $password: String!) "
    "{ logIn(input: {email: $email, password: $password}) { accessToken refreshToken } }",
    access_token="logIn.accessToken",
    refresh_token="logIn.refreshToken",
    refresh="mutation($refreshToken: String!) "
    "{ refreshToken(token: $refreshToken) { accessToken refreshToken } }",
    log_out="mutation($refreshToken: String!) { logOut(token: $refreshToken) }",
    protected="query { workspaces { id } }",
    sign_up="mutation($email: String!, $password: String!, $name: String!) "
    "{ signUp(input: {email: $email, password: $password, name: $name}) "
    "{ accessToken refreshToken } }",
)
#: The fixtures' seeded users (tests/fixtures/api/_common/domain.py), one per tenant.
PERSONAS = [
    Persona(email="alice@tenant-a.example", password="alice-password", tenant="tenant-a"),
    Persona(email="bob@tenant-b.example", password="bob-password", tenant="tenant-b"),
]


def with_settings(served: ProbeTarget, **overrides: Any) -> ProbeTarget:
    """A fresh target (empty ``extra``) on a served fixture, with the log-in flow and personas.

    The hardened fixture refuses introspection, so its schema comes from the SDL file.
    """
    values: dict[str, Any] = {
        "login": LOGIN,
        "personas": PERSONAS,
        "schema_files": ["schema.graphql"],
    }
    values.update(overrides)
    return ProbeTarget(
        base_url=served.base_url,
        settings=ApiSettings(**values),
        extra={"project_root": str(FIXTURES / "_common")},
    )


@pytest.fixture
def vulnerable_api(vulnerable: ProbeTarget) -> ProbeTarget:
    return with_settings(vulnerable, schema_files=[])  # its schema by introspection


@pytest.fixture
def hardened_api(hardened: ProbeTarget) -> ProbeTarget:
    return with_settings(hardened)
