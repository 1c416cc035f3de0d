"""/metrics with several uvicorn workers: every worker's requests, whichever worker answers.

Without multiprocess mode each worker has its own registry and a scrape shows the counts of the
worker that took it (about half of the requests with two workers).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client import values
from prometheus_client.parser import text_string_to_metric_families
from tests.reference_api.helpers import (
    free_port,
    running_server,
    server_environment,
    wait_until_healthy,
)

from reference_api.config import Settings, SettingsError
from reference_api.metrics import Metrics

pytestmark = pytest.mark.slow

REQUESTS = 60
WORKERS = 2
POOL_SIZE = 5  # DB_POOL_SIZE of the test environment


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """``(sample name, sorted labels) -> value`` of a Prometheus text exposition."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def ping(base_url: str) -> int:
    # a new connection per request, so that the kernel hands them to either worker
    response = httpx.post(
        f"{base_url}/graphql",
        json={"query": "query Ping { __typename }", "operationName": "Ping"},
        timeout=10,
    )
    return response.status_code


def wait_for(condition_met: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition_met():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_two_workers_report_every_request_whichever_answers_the_scrape(
    clean_database: str, tmp_path: Path
) -> None:
    directory = tmp_path / "prometheus"
    directory.mkdir()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    environment = {
        **server_environment(clean_database, port),
        "PROMETHEUS_MULTIPROC_DIR": str(directory),
    }
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "reference_api.app:create_app",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(WORKERS),
        "--no-access-log",
    ]  # fmt: skip
    log = tmp_path / "server.log"
    with running_server(command, environment, log) as process:
        wait_until_healthy(base_url, process)
        wait_for(
            lambda: log.read_text().count("Application startup complete") == WORKERS,
            "both workers to start",
        )
        with ThreadPoolExecutor(max_workers=4) as pool:
            statuses = list(pool.map(lambda _: ping(base_url), range(REQUESTS)))
        assert statuses == [200] * REQUESTS

        # both workers served requests, each writing its own file ...
        writers = sorted(directory.glob("histogram_*.db"))
        assert len(writers) == WORKERS, writers
        # ... and every scrape counts all of them, whichever worker answers it
        count = ("graphql_request_duration_seconds_count", (("operation", "Ping"),))
        responses = ("http_responses_total", (("route", "/graphql"), ("status", "200")))
        pool_size = ("db_pool_connections", (("state", "size"),))
        for _ in range(6):
            scraped = samples(httpx.get(f"{base_url}/metrics", timeout=5).text)
            assert scraped[count] == REQUESTS
            assert scraped[responses] == REQUESTS
            assert scraped[pool_size] == WORKERS * POOL_SIZE  # summed over the live workers

        # a killed worker keeps its counts, but its pool no longer counts once it is gone
        killed = int(writers[0].stem.split("_")[1])
        os.kill(killed, signal.SIGKILL)
        live_gauges = directory / f"gauge_livesum_{killed}.db"

        def pool_of_live_workers_only() -> bool:
            scraped = samples(httpx.get(f"{base_url}/metrics", timeout=5).text)
            assert scraped[count] == REQUESTS
            return not live_gauges.exists() and scraped[pool_size] in (
                POOL_SIZE,  # before uvicorn has restarted the worker
                WORKERS * POOL_SIZE,
            )

        wait_for(pool_of_live_workers_only, "the killed worker's pool gauges to be withdrawn")
    # workers that stop withdraw their own pool gauges; counts stay for the next scrape
    assert not list(directory.glob("gauge_live*.db"))
    assert list(directory.glob("histogram_*.db"))


def test_a_directory_that_does_not_exist_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"PROMETHEUS_MULTIPROC_DIR: .*existing directory"):
        Settings.from_environ(
            {"DATABASE_URL": "postgresql://x", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "no")}
        )


@pytest.mark.skipif(
    getattr(values.ValueClass, "_multiprocess", False),
    reason="prometheus_client was imported in multiprocess mode",
)
def test_the_directory_only_in_settings_is_refused_rather_than_exporting_nothing(
    tmp_path: Path,
) -> None:
    with pytest.raises(RuntimeError, match="before prometheus_client is imported"):
        Metrics(str(tmp_path))
