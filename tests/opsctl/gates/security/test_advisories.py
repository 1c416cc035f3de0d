"""OSV version matching and the local OSV endpoint that pip-audit queries."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from packaging.version import Version

from opsctl.gates.security.advisories import (
    AdvisoryDatabase,
    AdvisoryDatabaseError,
    affects,
    in_range,
)
from opsctl.gates.security.osv_server import query_url, serve_osv

ADVISORIES = Path(__file__).resolve().parents[3] / "fixtures" / "gates" / "security" / "advisories"


def _affected(version: str, events: list[dict[str, str]]) -> bool:
    return in_range(Version(version), events)


def test_introduced_zero_and_fixed() -> None:
    events = [{"introduced": "0"}, {"fixed": "2.20.0"}]
    assert _affected("2.19.0", events)
    assert _affected("0.0.1", events)
    assert not _affected("2.20.0", events)
    assert not _affected("2.31.0", events)


def test_last_affected_is_itself_affected() -> None:
    events = [{"introduced": "1.0"}, {"last_affected": "1.4.2"}]
    assert _affected("1.4.2", events)
    assert not _affected("1.4.3", events)
    assert not _affected("0.9", events)


def test_several_windows_in_one_range_and_pep440_ordering() -> None:
    events = [{"introduced": "1.0"}, {"fixed": "1.5"}, {"introduced": "2.0rc1"}, {"fixed": "2.10"}]
    assert _affected("1.2", events)
    assert not _affected("1.7", events)
    assert _affected("2.0", events)
    assert _affected("2.9", events)  # 2.9 < 2.10 by PEP 440, not by string order
    assert not _affected("2.10.0", events)


def test_limit_caps_the_range() -> None:
    assert not _affected("3.1", [{"introduced": "0"}, {"limit": "3.0"}])


def _record(**extra: object) -> dict[str, object]:
    return {
        "id": "TEST-1",
        "affected": [
            {
                "package": {"name": "Some_Package", "ecosystem": "PyPI"},
                "ranges": [{"type": "GIT", "events": [{"introduced": "0"}, {"fixed": "abc"}]}],
                "versions": ["0.5", "1.0.post1"],
            }
        ],
        **extra,
    }


def test_versions_list_names_are_canonical_and_git_ranges_are_ignored() -> None:
    assert affects(_record(), "some-package", "1.0.post1")
    assert affects(_record(), "some.package", "0.5.0")  # PEP 440 equal to 0.5
    assert not affects(_record(), "some-package", "0.6")


def test_withdrawn_advisories_affect_nothing() -> None:
    assert not affects(_record(withdrawn="2024-01-01T00:00:00Z"), "some-package", "0.5")


def test_other_ecosystems_are_ignored() -> None:
    record = _record()
    record["affected"][0]["package"]["ecosystem"] = "npm"  # type: ignore[index]
    assert not affects(record, "some-package", "0.5")


def test_a_database_knows_which_packages_it_has_records_of() -> None:
    database = AdvisoryDatabase.open(ADVISORIES)
    assert database.has_records("Requests") and not database.has_records("idna")


def test_a_folder_that_is_not_an_advisory_database_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(AdvisoryDatabaseError, match="advisory database not found"):
        AdvisoryDatabase.open(tmp_path / "nowhere")


def test_osv_endpoint_answers_query_and_querybatch() -> None:
    with serve_osv(AdvisoryDatabase.open(ADVISORIES)) as server:
        url = query_url(server)
        assert url.startswith("http://127.0.0.1:")
        query = {"package": {"name": "Requests", "ecosystem": "PyPI"}, "version": "2.19.0"}
        found = httpx.post(url, json=query, timeout=5).json()
        assert sorted(v["id"] for v in found["vulns"]) == ["PYSEC-2018-28", "PYSEC-2023-74"]
        clean = {"package": {"name": "requests", "ecosystem": "PyPI"}, "version": "2.32.3"}
        assert httpx.post(url, json=clean, timeout=5).json() == {}
        batch = httpx.post(
            url.replace("/query", "/querybatch"), json={"queries": [query, clean]}, timeout=5
        ).json()
        assert [len(r["vulns"]) for r in batch["results"]] == [2, 0]
        assert httpx.post(url, json={"version": "1"}, timeout=5).status_code == 400
