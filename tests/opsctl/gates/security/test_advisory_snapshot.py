"""The age of an offline advisory database: its snapshot as a whole, never a single record."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from opsctl.gates.security.advisories import AdvisoryDatabase
from opsctl.gates.security.advisory_snapshot import AdvisoryDateError, percentile, snapshot

ADVISORIES = Path(__file__).resolve().parents[3] / "fixtures" / "gates" / "security" / "advisories"
NOW = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)


def record(folder: Path, package: str, ident: str, modified: str) -> None:
    (folder / "vulns" / package).mkdir(parents=True, exist_ok=True)
    (folder / "vulns" / package / f"{ident}.yaml").write_text(
        f"id: {ident}\naffected:\n- package: {{name: {package}, ecosystem: PyPI}}\n"
        f"  versions: ['1.0']\nmodified: '{modified}'\n"
    )


def stale_database(folder: Path, count: int = 150) -> None:
    for number in range(count):
        day = dt.date(2023, 1, 1) + dt.timedelta(days=number)
        record(folder, f"pkg{number % 7}", f"OLD-{number}", f"{day}T00:00:00Z")


def test_one_fresh_record_does_not_make_a_stale_copy_look_new(tmp_path: Path) -> None:
    stale_database(tmp_path)
    record(tmp_path, "local", "LOCAL-1", "2026-12-02T00:00:00Z")  # written by hand, yesterday
    dated = snapshot(AdvisoryDatabase.open(tmp_path), tmp_path, NOW)
    assert dated.date.date() == dt.date(2023, 5, 30)  # the 150th of 151 dates, not the newest
    assert dated.newest_modified == dt.datetime(2026, 12, 2, tzinfo=dt.UTC)
    assert dated.source == "99th percentile of the 'modified' dates of 151 advisories"
    assert dated.records == 151


def test_percentile_is_the_nearest_rank() -> None:
    days = [dt.datetime(2024, 1, n, tzinfo=dt.UTC) for n in range(1, 11)]
    assert percentile(days, 99) == days[-1]  # ceil(9.9) = 10th of 10
    assert percentile(days, 50) == days[4]
    assert percentile(days[:1]) == days[0]


def test_a_record_dated_in_the_future_is_an_error_naming_it(tmp_path: Path) -> None:
    shutil.copytree(ADVISORIES, tmp_path / "db")
    record(tmp_path / "db", "local", "LOCAL-1", "2099-01-01T00:00:00Z")
    with pytest.raises(AdvisoryDateError) as error:
        snapshot(AdvisoryDatabase.open(tmp_path / "db"), tmp_path / "db", NOW)
    assert str(error.value).startswith(
        "advisory vulns/local/LOCAL-1.yaml is dated 2099-01-01T00:00:00+00:00, in the future"
    )


def test_a_day_of_clock_skew_is_not_the_future(tmp_path: Path) -> None:
    record(tmp_path, "a", "A-1", "2026-12-04T06:00:00Z")  # 18 hours ahead of NOW
    assert snapshot(AdvisoryDatabase.open(tmp_path), tmp_path, NOW).date.day == 4


def test_a_manifest_dates_the_snapshot(tmp_path: Path) -> None:
    stale_database(tmp_path, 3)
    (tmp_path / "SNAPSHOT.yaml").write_text("date: 2026-11-30\ncommit: 3ccb6125\n")
    dated = snapshot(AdvisoryDatabase.open(tmp_path), tmp_path, NOW)
    assert dated.date == dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
    assert dated.source == "manifest SNAPSHOT.yaml (commit 3ccb6125)"
    # the folder named may be vulns/ itself
    vulns = tmp_path / "vulns"
    assert snapshot(AdvisoryDatabase.open(vulns), vulns, NOW).date.day == 30


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ("date: 2099-01-01\n", "manifest SNAPSHOT.yaml is dated 2099-01-01T00:00:00+00:00, in the"),
        ("commit: abc\n", "SNAPSHOT.yaml: needs a 'date:' (RFC 3339 or YYYY-MM-DD)"),
    ],
)
def test_a_manifest_in_the_future_or_without_a_date_is_an_error(
    manifest: str, message: str, tmp_path: Path
) -> None:
    stale_database(tmp_path, 3)
    (tmp_path / "SNAPSHOT.yaml").write_text(manifest)
    with pytest.raises(AdvisoryDateError, match=re.escape(message)):
        snapshot(AdvisoryDatabase.open(tmp_path), tmp_path, NOW)


def git(folder: Path, *args: str, date: str = "2026-11-20T08:00:00+00:00") -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env |= {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date, "HOME": str(folder)}
    env |= {"GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.test", *args],
        cwd=folder, env=env, check=True, capture_output=True,
    )  # fmt: skip


def test_a_git_clone_is_dated_by_its_commit(tmp_path: Path) -> None:
    stale_database(tmp_path, 3)
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "snapshot")
    dated = snapshot(AdvisoryDatabase.open(tmp_path), tmp_path, NOW)
    assert dated.date == dt.datetime(2026, 11, 20, 8, tzinfo=dt.UTC)
    assert dated.source.startswith("git commit ")


def test_a_copy_inside_another_repository_is_not_dated_by_it(tmp_path: Path) -> None:
    stale_database(tmp_path / "db", 3)
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "the service's own history")
    dated = snapshot(AdvisoryDatabase.open(tmp_path / "db"), tmp_path / "db", NOW)
    assert dated.source.startswith("99th percentile")
