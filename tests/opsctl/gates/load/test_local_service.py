"""The service opsctl starts on local: several workers share one fresh metrics directory.

With two uvicorn workers and no shared directory, the server-side histogram the gate scrapes
counts about half of the requests (each worker has its own registry).
"""

from __future__ import annotations

import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from tests.opsctl.gates.load.conftest import gate_context

from opsctl.config.project import load_project
from opsctl.database.migrations import upgrade_to_head
from opsctl.gates.load.settings import LoadSettings
from opsctl.load.local_service import MULTIPROC_VARIABLE, serve_options
from opsctl.load.server_metrics import ALL, MetricsScraper
from opsctl.serving.service import metrics_directory, serve

REPOSITORY = Path(__file__).resolve().parents[4]
METRIC = "graphql_request_duration_seconds"
REQUESTS = 60


def settings(**overrides: Any) -> LoadSettings:
    section: dict[str, Any] = {
        "scenario": "unused.py",
        "rate": 10,
        "slas": [{"match": {"tag": "simple"}, "p95_ms": 200}],
        **overrides,
    }
    return LoadSettings.model_validate(section)


def reference_api_project(root: Path, server_url: str) -> Path:
    """A project serving the reference API on ``local`` (no seed: the test sends its own)."""
    root.mkdir()
    (root / "checks").mkdir()
    config = {
        "service": {
            "name": "reference-api",
            "app": "reference_api.app:create_app",
            "env": {"APP_ENV": "development"},  # production would need a real JWT_SECRET
        },
        "environments": {"local": {"url": "http://127.0.0.1:9", "database_url": server_url}},
    }
    (root / "opsctl.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    (root / "checks" / "definition-of-done.yaml").write_text("{}\n", encoding="utf-8")
    return root / "opsctl.yaml"


def ping(url: str) -> int:
    response = httpx.post(  # a new connection each time: the kernel picks the worker
        f"{url}/graphql",
        json={"query": "query Ping { __typename }", "operationName": "Ping"},
        timeout=10,
    )
    return response.status_code


@pytest.mark.slow
def test_two_server_workers_count_every_request_and_the_directory_is_removed_after(
    tmp_path: Path,
    postgres_server_url: str,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    upgrade_to_head(
        load_project(REPOSITORY / "opsctl.yaml"), REPOSITORY / "alembic.ini", database_url
    )
    context = gate_context(
        reference_api_project(tmp_path / "project", postgres_server_url), environment="local"
    )
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))

    options = serve_options(settings(server_workers=2))
    with serve(context, options, database_url=database_url) as url:
        (directory,) = scratch.glob("opsctl-load-metrics-*")
        deadline = time.monotonic() + 20
        while len(list(directory.glob("gauge_livesum_*.db"))) < 2:  # both workers started
            assert time.monotonic() < deadline, "the second worker did not start"
            time.sleep(0.2)
        scraper = MetricsScraper(url, METRIC)
        scraper("start")
        with ThreadPoolExecutor(max_workers=4) as pool:
            assert set(pool.map(lambda _: ping(url), range(REQUESTS))) == {200}
        scraper("end")
        assert len(list(directory.glob("histogram_*.db"))) == 2  # both workers answered

    start, end = scraper.snapshots["start"], scraper.snapshots["end"]
    assert end[ALL][float("inf")] - start.get(ALL, {}).get(float("inf"), 0.0) == REQUESTS
    assert end["Ping"][float("inf")] - start.get("Ping", {}).get(float("inf"), 0.0) == REQUESTS
    assert not directory.exists()


def test_one_server_worker_needs_no_metrics_directory() -> None:
    one = settings(server_workers=1)
    with metrics_directory(one.server_workers, one.service_environment) as environment:
        assert environment == {}


def test_a_directory_in_service_environment_is_used_as_given(tmp_path: Path) -> None:
    own = settings(server_workers=2, service_environment={MULTIPROC_VARIABLE: str(tmp_path)})
    with metrics_directory(own.server_workers, own.service_environment) as environment:
        assert environment == {}  # service_environment itself passes the variable on


def test_several_workers_get_a_fresh_directory_removed_afterwards() -> None:
    three = settings(server_workers=3)
    with metrics_directory(three.server_workers, three.service_environment) as environment:
        directory = Path(environment[MULTIPROC_VARIABLE])
        assert directory.is_dir()
        assert not list(directory.iterdir())
        (directory / "histogram_1.db").write_bytes(b"")
    assert not directory.exists()
