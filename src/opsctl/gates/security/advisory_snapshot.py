"""How old an offline advisory database is: the date of the snapshot as a whole.

An advisory database is a copy of a feed taken at some moment; its age is how long ago that
was. The best evidence, in order:

1. a manifest the copy carries, ``SNAPSHOT.yaml`` next to ``vulns/`` (``date:``, RFC 3339 or
   ``YYYY-MM-DD``; any other key, such as ``commit:``, is shown as it is);
2. the date of the commit the copy is checked out at, when the database folder is the top of
   its own git repository (a ``git clone`` of the PyPA advisory database);
3. otherwise a high percentile (the 99th, nearest rank) of the records' ``modified`` dates. Not
   the newest single date: one record written locally, or dated wrongly, would make a
   two-year-old copy look fresh. A real feed touches many records a day, so its 99th
   percentile is days behind its newest record, not years.

A date in the future (beyond a day's clock skew) is an error whatever its source: a database
whose dates cannot be trusted has no known age, and a negative age would pass any limit.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from opsctl.gates.interface import GateError
from opsctl.gates.security.advisories import AdvisoryDatabase, parse_timestamp

MANIFEST = "SNAPSHOT.yaml"
PERCENTILE = 99
CLOCK_SKEW = dt.timedelta(days=1)
_MODIFIED = re.compile(r"""^\s*"?modified"?\s*:\s*['"]?(?P<value>[0-9][0-9T:.\-+Z ]*)""", re.M)


class AdvisoryDateError(GateError):
    """The database's dates cannot be trusted (in the future, or an unreadable manifest)."""


@dataclass(frozen=True)
class Snapshot:
    date: dt.datetime
    source: str  # how it was dated, in words, for the report
    newest_modified: dt.datetime | None
    records: int


def record_dates(database: AdvisoryDatabase) -> list[tuple[dt.datetime, Path]]:
    """The ``modified`` date of every record (a cheap text scan, not a YAML parse)."""
    dates: list[tuple[dt.datetime, Path]] = []
    for file in database.files():
        match = _MODIFIED.search(file.read_text(encoding="utf-8", errors="replace"))
        stamp = parse_timestamp(match["value"].strip()) if match else None
        if stamp is not None:
            dates.append((stamp, file))
    return dates


def percentile(stamps: list[dt.datetime], rank: int = PERCENTILE) -> dt.datetime:
    """The nearest-rank percentile of ``stamps`` (not empty)."""
    ordered = sorted(stamps)
    return ordered[max(0, math.ceil(rank / 100 * len(ordered)) - 1)]


def _manifest(folder: Path) -> tuple[dt.datetime, str] | None:
    path = folder / MANIFEST
    if not path.is_file():
        return None
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise AdvisoryDateError(f"{path}: unreadable manifest: {error}") from None
    stamp = parse_timestamp(data.get("date")) if isinstance(data, dict) else None
    if stamp is None:
        raise AdvisoryDateError(f"{path}: needs a 'date:' (RFC 3339 or YYYY-MM-DD)")
    extra = ", ".join(f"{k} {v}" for k, v in data.items() if k != "date")
    return stamp, f"manifest {MANIFEST}" + (f" ({extra})" if extra else "")


def _git_commit(folder: Path) -> tuple[dt.datetime, str] | None:
    """The checked-out commit's date, if ``folder`` is the top of its own git repository."""
    if not (folder / ".git").exists():
        return None  # a folder inside another repository is not dated by that repository
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), "log", "-1", "--format=%cI %H"],
            capture_output=True, text=True, timeout=30, env=env, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0 or not done.stdout.strip():
        return None
    date_text, _, commit = done.stdout.strip().partition(" ")
    stamp = parse_timestamp(date_text)
    return (stamp, f"git commit {commit[:12]}") if stamp else None


def _refuse_future(what: str, stamp: dt.datetime, now: dt.datetime) -> None:
    if stamp > now + CLOCK_SKEW:
        raise AdvisoryDateError(
            f"{what} is dated {stamp.isoformat()}, in the future: the database's age cannot be "
            "known; fix the date (or this machine's clock)"
        )


def snapshot(database: AdvisoryDatabase, folder: Path, now: dt.datetime) -> Snapshot:
    """Date the database at ``folder``; :class:`AdvisoryDateError` if its dates lie."""
    dates = record_dates(database)
    future = sorted((stamp, file) for stamp, file in dates if stamp > now + CLOCK_SKEW)
    if future:
        stamp, file = future[-1]
        shown = file.relative_to(folder) if file.is_relative_to(folder) else file
        more = f" (and {len(future) - 1} other record(s))" if len(future) > 1 else ""
        _refuse_future(f"advisory {shown}{more}", stamp, now)
    newest = max((stamp for stamp, _ in dates), default=None)
    # the folder named may be the database or its vulns/ folder
    top = folder.parent if database.root == folder and folder.name == "vulns" else folder
    dated = _manifest(top) or _git_commit(top)
    if dated is not None:
        _refuse_future(dated[1], dated[0], now)
        return Snapshot(dated[0], dated[1], newest, len(dates))
    if not dates:
        raise AdvisoryDateError(f"no advisory in {folder} has a 'modified' date: age unknown")
    source = f"{PERCENTILE}th percentile of the 'modified' dates of {len(dates)} advisories"
    return Snapshot(percentile([stamp for stamp, _ in dates]), source, newest, len(dates))
