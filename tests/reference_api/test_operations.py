"""/healthz, /readyz, /metrics, JSON request logs, security headers and CORS."""

from __future__ import annotations

import pytest
from tests.reference_api.conftest import make_settings, migrate
from tests.reference_api.helpers import PASSWORD, Api, captured_json_logs, running_api

from opsctl.database.throwaway import throwaway_database


async def test_healthz(api: Api) -> None:
    response = await api.client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_when_migrated(api: Api) -> None:
    response = await api.client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


async def test_readyz_reports_an_unmigrated_and_an_outdated_database(
    postgres_server_url: str,
) -> None:
    with throwaway_database(postgres_server_url) as url:
        async with running_api(make_settings(url)) as api:
            response = await api.client.get("/readyz")
            assert response.status_code == 503
            assert "not migrated" in response.json()["reasons"][0]
            migrate(url)
            assert (await api.client.get("/readyz")).status_code == 200
            async with api.app.state.services.engine.begin() as connection:
                from sqlalchemy import text

                await connection.execute(text("UPDATE alembic_version SET version_num = 'old'"))
            response = await api.client.get("/readyz")
            assert response.status_code == 503
            assert "revision old" in response.json()["reasons"][0]


async def test_readyz_reports_an_unreachable_database(clean_database: str) -> None:
    unreachable = "postgresql://postgres@127.0.0.1:1/nothing"
    async with running_api(make_settings(unreachable)) as api:
        response = await api.client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["reasons"][0].startswith("database unreachable")


async def test_metrics_show_latency_by_operation_errors_by_code_and_the_pool(api: Api) -> None:
    await api.gql("query Me { me { id } }", operation_name="Me")
    await api.gql("query { me { id } }")
    text = (await api.client.get("/metrics")).text
    assert 'graphql_request_duration_seconds_count{operation="Me"} 1.0' in text
    assert 'graphql_request_duration_seconds_count{operation="anonymous"} 1.0' in text
    assert 'graphql_errors_total{code="UNAUTHENTICATED"} 2.0' in text
    assert 'db_pool_connections{state="size"}' in text
    assert 'db_pool_connections{state="checked_out"} 0.0' in text


async def test_operation_labels_are_bounded(api: Api) -> None:
    metrics = api.app.state.metrics
    assert metrics.operation_label("Robert'); DROP") == "other"
    labels = {metrics.operation_label(f"Op{i}") for i in range(500)}
    assert "other" in labels
    assert len(labels) <= 201


async def test_one_json_log_line_per_request_without_secrets(api: Api) -> None:
    with captured_json_logs() as lines:
        session = await api.sign_up("Ada")
        response = await api.post(
            "query Me { me { id } }", token=session.access_token, operation_name="Me"
        )
    requests = [line for line in lines() if line["message"] == "request"]
    assert len(requests) == 2
    last = requests[-1]
    assert last["requestId"] == response.headers["X-Request-ID"]
    assert last["operation"] == "Me"
    assert last["status"] == 200
    assert last["path"] == "/graphql"
    assert last["durationMs"] >= 0
    everything = str(lines())
    assert PASSWORD not in everything
    assert session.access_token not in everything
    assert session.refresh_token not in everything


async def test_request_ids_come_from_the_client_only_when_well_formed(api: Api) -> None:
    kept = await api.client.get("/healthz", headers={"X-Request-ID": "client-id-1234"})
    assert kept.headers["X-Request-ID"] == "client-id-1234"
    replaced = await api.client.get("/healthz", headers={"X-Request-ID": "bad\nid"})
    assert replaced.headers["X-Request-ID"] != "bad\nid"


async def test_security_headers_on_every_response(api: Api) -> None:
    for response in (
        await api.client.get("/healthz"),
        await api.post("{ __typename }"),
        await api.client.get("/nowhere"),
    ):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("origin", "allowed"), [("https://app.example.test", True), ("https://evil.example", False)]
)
async def test_cors_follows_the_allowlist(clean_database: str, origin: str, allowed: bool) -> None:
    settings = make_settings(clean_database, CORS_ORIGINS="https://app.example.test")
    async with running_api(settings) as api:
        preflight = await api.client.options(
            "/graphql",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        simple = await api.post("{ __typename }", headers={"Origin": origin})
    if allowed:
        assert preflight.status_code == 200
        assert preflight.headers["Access-Control-Allow-Origin"] == origin
        assert simple.headers["Access-Control-Allow-Origin"] == origin
    else:
        assert preflight.status_code == 400
        assert "Access-Control-Allow-Origin" not in simple.headers
