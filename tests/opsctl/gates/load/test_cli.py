"""``opsctl load run``, ``opsctl load worker`` (a stock Locust worker), ``opsctl verify load``.

Each command example of docs/load-gate.md runs here, shortened, against a fixture service.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner

from opsctl.cli import app
from opsctl.reports.json_report import schema

from .conftest import FIXTURES, load_section, write_project

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_load_run_prints_each_operation_and_writes_the_html_report(
    tmp_path: Path, fixture_service: Any
) -> None:
    service = fixture_service(slow_ms=50)
    report = tmp_path / "load.html"
    result = CliRunner().invoke(
        app,
        ["load", "run", "--url", service.url, "--scenario", str(FIXTURES / "mixed.py"),
         "--rate", "20", "--duration", "2s", "--warmup", "1s", "--html", str(report),
         "--no-live"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Fast" in result.output
    assert "Slow" in result.output
    assert "<svg" in report.read_text(encoding="utf-8")


def test_workers_from_elsewhere_join_a_run_stock_locust_and_opsctl_load_worker(
    tmp_path: Path, fixture_service: Any
) -> None:
    # the docs' three commands: the run listening for two workers, and the two ways to start one
    service = fixture_service()
    port = free_port()
    scenario = str(FIXTURES / "fast_only.py")
    joining = [
        [sys.executable, "-m", "locust", "-f", scenario, "--worker", "--master-host",
         "127.0.0.1", "--master-port", str(port)],
        [sys.executable, "-m", "opsctl", "load", "worker", "--master", f"127.0.0.1:{port}",
         "-f", scenario],
    ]  # fmt: skip
    workers = [
        subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for command in joining
    ]
    try:
        result = CliRunner().invoke(
            app,
            ["load", "run", "--url", service.url, "--scenario", scenario, "--rate", "40",
             "--duration", "2s", "--warmup", "1s", "--workers", "0", "--expect-workers", "2",
             "--master-bind", f"127.0.0.1:{port}", "--no-live"],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert "40.0/s of 40/s" in result.output  # both workers kept their share
        assert [worker.wait(timeout=30) for worker in workers] == [0, 0]  # ended with the run
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    assert len(service.clients) == 1  # both on loopback
    assert sum(service.calls.values()) >= 100  # 40/s for 3 s, warm-up included


def test_load_run_refuses_workers_0_with_no_one_expected() -> None:
    result = CliRunner().invoke(
        app, ["load", "run", "--url", "http://127.0.0.1:9", "--scenario",
              str(FIXTURES / "fast_only.py"), "--rate", "5", "--workers", "0"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "--workers 0 needs --expect-workers 1 or more" in result.output


def test_verify_load_exits_1_when_an_sla_is_missed(tmp_path: Path, fixture_service: Any) -> None:
    service = fixture_service(slow_ms=300)
    slas = [{"match": {"tag": "complex"}, "p95_ms": 250}]
    config = write_project(
        tmp_path, service.url, load_section("mixed.py", slas=slas, min_samples=20)
    )
    result = CliRunner().invoke(
        app, ["--config", str(config), "verify", "load", "--env", "fixture"]
    )
    assert result.exit_code == 1, result.output
    assert "Slow" in result.output


def test_load_run_refuses_a_protected_environment(tmp_path: Path) -> None:
    config = write_project(
        tmp_path, "http://127.0.0.1:9", load_section("fast_only.py"), protected=True
    )
    result = CliRunner().invoke(app, ["--config", str(config), "--env", "fixture", "load", "run"])
    assert result.exit_code == 2
    assert "protected environment 'fixture'" in result.output


def test_verify_load_refuses_an_error_budget_of_100_percent(tmp_path: Path) -> None:
    # max_error_rate 1.0 let a service that refused every request pass with "every SLA met"
    slas = [{"match": {"tag": "simple"}, "p95_ms": 200, "max_error_rate": 1.0}]
    config = write_project(
        tmp_path, f"http://127.0.0.1:{free_port()}", load_section("fast_only.py", slas=slas)
    )
    result = CliRunner().invoke(
        app, ["--config", str(config), "verify", "load", "--env", "fixture"]
    )
    assert result.exit_code == 2, result.output
    assert "definition-of-done.yaml:" in result.output
    assert "max_error_rate" in result.output and "less than 1" in result.output


def test_verify_load_on_a_protected_environment_exits_2_and_still_writes_the_reports(
    tmp_path: Path,
) -> None:
    config = write_project(
        tmp_path, "http://127.0.0.1:9", load_section("fast_only.py"), protected=True
    )
    report = tmp_path / "verify.json"
    result = CliRunner().invoke(
        app,
        ["--config", str(config), "verify", "load", "--env", "fixture", "--json", str(report)],
    )
    assert result.exit_code == 2, result.output
    assert "error: refusing to load-test the protected environment 'fixture'" in result.output
    document = json.loads(report.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema()).validate(document)
    assert document["partial"] is True
    assert document["gates"][0]["status"] == "incomplete"
    assert "protected environment 'fixture'" in document["gates"][0]["reasons"][0]
    assert any("ended the run (exit 2)" in note for note in document["notes"])
