"""Every command in docs/reference-api.md, run as written.

Only the database name (``tracker``) and the port (8000) are replaced, by a throwaway database
and a free port, so that the run touches nothing else on the machine.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from tests.reference_api.helpers import (
    REPOSITORY_ROOT,
    VENV_BIN,
    free_port,
    running_server,
    server_environment,
    wait_until_healthy,
)

from opsctl.database.throwaway import drop_database
from reference_api.config import Settings

DOCS = REPOSITORY_ROOT / "docs" / "reference-api.md"

pytestmark = pytest.mark.slow


def bash_blocks() -> list[tuple[str, str]]:
    """(section title, block) for every ```bash block of the page, in order."""
    blocks: list[tuple[str, str]] = []
    section = ""
    lines = iter(DOCS.read_text().splitlines())
    for line in lines:
        if line.startswith("## "):
            section = line[3:].strip()
        elif line.strip() == "```bash":
            body = []
            for inner in lines:
                if inner.strip() == "```":
                    break
                body.append(inner)
            blocks.append((section, "\n".join(body)))
    return blocks


def localised(script: str, database: str, port: int) -> str:
    return re.sub(r"\btracker\b", database, script).replace("8000", str(port))


def test_every_block_is_exercised_here() -> None:
    sections = [section for section, _ in bash_blocks()]
    assert set(sections) == {"Try it", "Performance"}, sections


def test_try_it_walkthrough_as_a_new_user(postgres_server_url: str, tmp_path: Path) -> None:
    if shutil.which("curl") is None or shutil.which("createdb") is None:
        pytest.skip("the walkthrough needs curl and createdb on PATH")
    if not postgres_server_url.startswith("postgresql://postgres@127.0.0.1:5432/"):
        pytest.skip("the walkthrough uses the PostgreSQL server on 127.0.0.1:5432, as written")
    walkthrough = [block for section, block in bash_blocks() if section == "Try it"]
    uvicorn_block = walkthrough.pop()  # the alternative start, run by the next test
    assert uvicorn_block.startswith("uvicorn --factory")
    database = f"opsctl_tmp_{os.getpid()}_docs_{uuid.uuid4().hex[:8]}"
    port = free_port()
    script = "set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n"
    script += localised("\n".join(walkthrough), database, port)
    environment = {
        **os.environ,
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
        # Cheap hashing and quiet logs; everything else as a new user has it.
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST_KIB": "8",
        "ARGON2_PARALLELISM": "1",
        "LOG_LEVEL": "WARNING",
    }
    environment.pop("DATABASE_URL", None)
    try:
        result = subprocess.run(
            ["bash", "-c", script],
            cwd=REPOSITORY_ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
    finally:
        drop_database(postgres_server_url, database)
    assert result.returncode == 0, result.stderr
    assert '"status":"ready"' in result.stdout
    final = result.stdout.strip().splitlines()[-1]
    assert '"viewerRole":"OWNER"' in final
    assert '"totalCount":2' in final
    assert "Write the press release" in final and "Book the venue" in final
    assert "First draft is in the shared folder." in final
    assert '"author":{"name":"Ada"}' in final
    assert '"errors"' not in result.stdout


def test_uvicorn_command(clean_database: str, tmp_path: Path) -> None:
    block = next(b for s, b in bash_blocks() if b.startswith("uvicorn --factory"))
    port = free_port()
    command = shlex.split(localised(block, "unused", port))
    command[0] = str(VENV_BIN / command[0])
    environment = server_environment(clean_database, port)
    with running_server(command, environment, tmp_path / "uvicorn.log") as process:
        wait_until_healthy(f"http://127.0.0.1:{port}", process)
        assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200


def test_benchmark_command(postgres_server_url: str) -> None:
    block = next(b for s, b in bash_blocks() if s == "Performance")
    command = shlex.split(block)
    assert command[:2] == ["python", "benchmarks/reference_api_latency.py"]
    # Bounded for the test: a few requests per scenario.
    result = subprocess.run(
        [
            sys.executable,
            *command[1:],
            "--requests",
            "20",
            "--concurrency",
            "2",
            "--server-url",
            postgres_server_url,
        ],
        cwd=REPOSITORY_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr  # 1: a latency target missed
    for scenario in ("healthz", "me", "tasks50"):
        assert re.search(rf"^{scenario}\s+20\s", result.stdout, re.MULTILINE), result.stdout


def test_every_setting_is_documented() -> None:
    text = DOCS.read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([A-Z0-9_]+)` \|", text, re.MULTILINE))
    variables = {field.alias for field in Settings.model_fields.values()}
    assert documented == variables
