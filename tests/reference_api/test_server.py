"""The real server: ``python -m reference_api`` and ``uvicorn --factory`` in subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from tests.reference_api.helpers import (
    REPOSITORY_ROOT,
    free_port,
    running_server,
    server_environment,
    wait_until_healthy,
)

pytestmark = pytest.mark.slow


def test_python_m_reference_api_serves_and_logs_json(clean_database: str, tmp_path: Path) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    environment = server_environment(clean_database, port)
    log = tmp_path / "server.log"
    with running_server([sys.executable, "-m", "reference_api"], environment, log) as process:
        wait_until_healthy(base_url, process)
        assert httpx.get(f"{base_url}/readyz", timeout=5).json() == {"status": "ready"}
        signed_up = httpx.post(
            f"{base_url}/graphql",
            json={
                "query": """mutation SignUp { signUp(input: {email: "s@example.test",
                  password: "long enough", name: "S"}) { accessToken } }""",
                "operationName": "SignUp",
            },
            timeout=10,
        )
        token = signed_up.json()["data"]["signUp"]["accessToken"]
        me = httpx.post(
            f"{base_url}/graphql",
            json={"query": "{ me { email } }"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert me.json() == {"data": {"me": {"email": "s@example.test"}}}
        assert "server" not in me.headers
    stdout = log.read_text()
    records = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    requests = [record for record in records if record["message"] == "request"]
    sign_up = next(record for record in requests if record["operation"] == "SignUp")
    assert sign_up["requestId"] == signed_up.headers["X-Request-ID"]
    assert sign_up["status"] == 200
    assert "long enough" not in stdout
    assert token not in stdout


def test_bad_configuration_is_one_clear_line_and_exit_code_2() -> None:
    environment = {**os.environ, "APP_ENV": "production", "JWT_SECRET": "weak"}
    environment.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "reference_api"],
        cwd=REPOSITORY_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("reference-api: invalid configuration: DATABASE_URL")
    assert "Traceback" not in result.stderr
    assert "weak" not in result.stderr
