"""The shared start-up: every app shape is told apart and served, wired through service_wiring."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from tests.opsctl.gates.load.conftest import gate_context

from opsctl.errors import ConfigError
from opsctl.serving import AppKind, ServeOptions, started_service
from opsctl.serving.apps import probe_app

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "serving"


def project(root: Path, service: dict[str, Any], database_url: str | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "apps.py").write_text((FIXTURES / "apps.py").read_text(), encoding="utf-8")
    (root / "checks").mkdir(exist_ok=True)
    local: dict[str, Any] = {"url": "http://127.0.0.1:9"}
    if database_url:
        local["database_url"] = database_url
    config = {"service": {"name": "fixture", **service}, "environments": {"local": local}}
    (root / "opsctl.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    (root / "checks" / "definition-of-done.yaml").write_text("{}\n", encoding="utf-8")
    return root / "opsctl.yaml"


@pytest.mark.parametrize(
    ("target", "kind"),
    [
        ("apps:instance", AppKind.ASGI),
        ("apps:create_asgi", AppKind.ASGI_FACTORY),
        ("apps:flask_app", AppKind.WSGI),
        ("apps:create_flask", AppKind.WSGI_FACTORY),
    ],
)
def test_the_app_kind_is_told_apart(tmp_path: Path, target: str, kind: AppKind) -> None:
    project(tmp_path, {})
    assert probe_app(target, root=tmp_path, environment={"PATH": ""}, file="opsctl.yaml") is kind


def test_an_app_that_cannot_be_imported_names_the_key(tmp_path: Path) -> None:
    project(tmp_path, {})
    with pytest.raises(ConfigError, match="cannot import apps:missing") as error:
        probe_app("apps:missing", root=tmp_path, environment={}, file="opsctl.yaml")
    assert error.value.key == "service.app"


@pytest.mark.parametrize(
    ("target", "kind"), [("apps:instance", "starlette"), ("apps:create_flask", "flask")]
)
def test_the_service_gets_its_database_parts_service_env_and_a_run_secret(
    tmp_path: Path, postgres_server_url: str, target: str, kind: str
) -> None:
    config = project(
        tmp_path / "p",
        {
            "app": target,
            "database_env": {"APP_DB_HOST": "{host}", "APP_DB_NAME": "{database}"},
            "env": {"FROM_SERVICE_ENV": "yes"},
        },
        database_url=postgres_server_url,
    )
    options = ServeOptions(workers=2, environment={"SIGNING_SECRET": "{run_secret}"})
    with started_service(gate_context(config, environment="local"), options) as url:
        answers = [httpx.get(f"{url}/readyz", timeout=10).json() for _ in range(6)]
    first = answers[0]
    assert first["kind"] == kind
    assert first["APP_DB_HOST"] == "127.0.0.1"
    assert first["APP_DB_NAME"].startswith("opsctl_")  # the throwaway database, not postgres
    assert first["FROM_SERVICE_ENV"] == "yes"
    assert first["SIGNING_SECRET"] not in ("", None, "{run_secret}")
    assert len({answer["SIGNING_SECRET"] for answer in answers}) == 1  # one per run, all workers


def test_service_start_runs_the_whole_command_with_host_and_port(tmp_path: Path) -> None:
    start = [
        sys.executable,
        "-m",
        "uvicorn",
        "apps:instance",
        "--host",
        "{host}",
        "--port",
        "{port}",
    ]
    config = project(tmp_path, {"start": start})
    with started_service(gate_context(config, environment="local"), ServeOptions()) as url:
        assert httpx.get(f"{url}/readyz", timeout=10).json()["kind"] == "starlette"


def test_a_start_command_behind_a_wrapper_is_stopped_whole(tmp_path: Path) -> None:
    # `sh -c "... &  wait"` as a Makefile or `poetry run` would: SIGTERM to the wrapper alone
    # would leave the server holding the port
    server = f"{sys.executable} -m uvicorn apps:instance --host {{host}} --port {{port}}"
    config = project(tmp_path, {"start": ["sh", "-c", f"{server} & wait"]})
    with started_service(gate_context(config, environment="local"), ServeOptions()) as url:
        assert httpx.get(f"{url}/readyz", timeout=10).status_code == 200
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{url}/readyz", timeout=2)
