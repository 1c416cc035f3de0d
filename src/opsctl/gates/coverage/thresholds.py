"""Judge coverage.py's numbers exactly: no rounding in the service's favour.

A percentage is kept as a fraction (covered units / measurable units, where units are
statements plus branch destinations, as coverage.py counts them) and compared with the threshold
as a decimal: 89.99 fails 90, 79.5 fails 80. Shown values are truncated to two decimals, so a
failing value is never displayed as if it met the threshold.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any

from opsctl.gates.coverage.diff import code_lines


@dataclass(frozen=True)
class Ratio:
    """Covered units out of measurable units."""

    covered: int
    total: int

    @property
    def percent(self) -> Fraction | None:
        return None if self.total == 0 else Fraction(100 * self.covered, self.total)

    def meets(self, threshold: float) -> bool | None:
        """Exact comparison; ``None`` when nothing was measurable."""
        percent = self.percent
        return None if percent is None else percent >= Fraction(str(threshold))

    def shown(self) -> float | None:
        """The percentage truncated (not rounded) to two decimals."""
        percent = self.percent
        return None if percent is None else math.floor(percent * 100) / 100

    def __add__(self, other: Ratio) -> Ratio:
        return Ratio(self.covered + other.covered, self.total + other.total)


def file_ratio(entry: Mapping[str, Any]) -> Ratio:
    """Lines and branches of one file of coverage.py's JSON report."""
    summary = entry["summary"]
    covered = int(summary["covered_lines"]) + int(summary.get("covered_branches", 0))
    total = int(summary["num_statements"]) + int(summary.get("num_branches", 0))
    return Ratio(covered, total)


def total_ratio(report: Mapping[str, Any]) -> Ratio:
    totals = report["totals"]
    covered = int(totals["covered_lines"]) + int(totals.get("covered_branches", 0))
    total = int(totals["num_statements"]) + int(totals.get("num_branches", 0))
    return Ratio(covered, total)


@cache
def glob_pattern(glob: str) -> re.Pattern[str]:
    """``**`` matches across folders, ``*`` and ``?`` within one path segment."""
    out = ""
    index = 0
    while index < len(glob):
        if glob.startswith("**/", index):
            out += "(?:.*/)?"
            index += 3
        elif glob.startswith("**", index):
            out += ".*"
            index += 2
        elif glob[index] == "*":
            out += "[^/]*"
            index += 1
        elif glob[index] == "?":
            out += "[^/]"
            index += 1
        else:
            out += re.escape(glob[index])
            index += 1
    return re.compile(out + r"\Z")


def files_matching(glob: str, files: Iterable[str]) -> list[str]:
    pattern = glob_pattern(glob.removeprefix("./"))
    return sorted(file for file in files if pattern.match(file))


def omit_from_report(report: dict[str, Any], globs: Iterable[str]) -> dict[str, list[str]]:
    """Take the files each glob matches out of ``report``, totals included; glob -> files."""
    files: dict[str, Any] = report["files"]
    totals: dict[str, Any] = report["totals"]
    omitted: dict[str, list[str]] = {}
    for glob in globs:
        omitted[glob] = files_matching(glob, files)
        for name in omitted[glob]:
            for key, value in files.pop(name)["summary"].items():
                if isinstance(value, int) and isinstance(totals.get(key), int):
                    totals[key] -= value
    ratio = total_ratio(report)
    totals["percent_covered"] = 100.0 * ratio.covered / ratio.total if ratio.total else 100.0
    totals.pop("percent_covered_display", None)
    return omitted


def is_omitted(path: str, globs: Iterable[str]) -> bool:
    return any(files_matching(glob, [path]) for glob in globs)


def path_ratio(glob: str, report: Mapping[str, Any]) -> tuple[Ratio, list[str]]:
    files = report["files"]
    matched = files_matching(glob, files)
    ratio = Ratio(0, 0)
    for name in matched:
        ratio += file_ratio(files[name])
    return ratio, matched


@dataclass(frozen=True)
class DiffCoverage:
    ratio: Ratio
    uncovered: dict[str, list[int]]  # file -> changed lines not run by the tests
    without_data: list[str]  # changed files no test ran at all (not imported, not measured)


def diff_ratio(
    changes: Mapping[str, set[int]], report: Mapping[str, Any], root: Path
) -> DiffCoverage:
    """Changed statement lines run by the tests / changed statement lines (lines, not branches)."""
    files = report["files"]
    ratio = Ratio(0, 0)
    uncovered: dict[str, list[int]] = {}
    without_data: list[str] = []
    for path, lines in sorted(changes.items()):
        entry = files.get(path)
        if entry is None:
            # diff-cover drops such files and passes; a file never measured is not covered.
            measurable = lines & code_lines(root / path)
            executed: set[int] = set()
        else:
            statements = set(entry["executed_lines"]) | set(entry["missing_lines"])
            measurable = lines & statements
            executed = measurable & set(entry["executed_lines"])
        if entry is None or not entry["executed_lines"]:
            without_data.append(path)  # no line of it ran: never imported
        ratio += Ratio(len(executed), len(measurable))
        missed = sorted(measurable - executed)
        if missed:
            uncovered[path] = missed
    return DiffCoverage(ratio, uncovered, without_data)


def line_ranges(lines: Iterable[int]) -> str:
    """``[1, 2, 3, 7]`` -> ``"1-3, 7"``."""
    ordered = sorted(set(lines))
    parts: list[str] = []
    start = previous = None
    for line in ordered:
        if start is None:
            start = previous = line
        elif previous is not None and line == previous + 1:
            previous = line
        else:
            parts.append(f"{start}" if start == previous else f"{start}-{previous}")
            start = previous = line
    if start is not None:
        parts.append(f"{start}" if start == previous else f"{start}-{previous}")
    return ", ".join(parts)
