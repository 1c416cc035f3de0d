"""Exact coverage arithmetic: no rounding in the service's favour, globs, diff parsing."""

from __future__ import annotations

from pathlib import Path

from opsctl.gates.coverage.diff import parse_unified_diff
from opsctl.gates.coverage.thresholds import (
    Ratio,
    diff_ratio,
    files_matching,
    line_ranges,
)


def test_79_5_percent_fails_80_although_coverage_py_would_round_it_up() -> None:
    ratio = Ratio(159, 200)
    assert round(79.5) == 80  # what coverage.py's fail_under (precision 0) compares
    assert ratio.meets(80) is False
    assert ratio.meets(79.5) is True
    assert ratio.shown() == 79.5


def test_89_99_fails_90_and_shown_value_never_rounds_up_to_the_threshold() -> None:
    ratio = Ratio(8999, 10000)
    assert ratio.meets(90) is False
    almost = Ratio(89996, 100000)  # 89.996 %: rounding would show 90.00
    assert almost.meets(90) is False
    assert almost.shown() == 89.99


def test_nothing_measurable_is_not_a_pass() -> None:
    assert Ratio(0, 0).meets(0) is None
    assert Ratio(0, 0).shown() is None


def test_globs_match_across_folders_only_with_double_star() -> None:
    files = ["src/app/services/a.py", "src/app/services/deep/b.py", "src/app/c.py"]
    assert files_matching("src/app/services/**", files) == files[:2]
    assert files_matching("src/app/*.py", files) == ["src/app/c.py"]
    assert files_matching("src/**/b.py", files) == ["src/app/services/deep/b.py"]


def test_unified_diff_gives_added_lines_per_file() -> None:
    diff = (
        "diff --git a/src/x.py b/src/x.py\n--- a/src/x.py\n+++ b/src/x.py\n"
        "@@ -1,0 +2,3 @@\n+a\n+b\n+c\n@@ -10 +14 @@\n-old\n+new\n"
        "diff --git a/src/gone.py b/src/gone.py\n--- a/src/gone.py\n+++ /dev/null\n"
        "@@ -1 +0,0 @@\n-x\n"
    )
    assert parse_unified_diff(diff) == {"src/x.py": {2, 3, 4, 14}}


def test_changed_file_missing_from_coverage_data_counts_as_uncovered(tmp_path: Path) -> None:
    (tmp_path / "new.py").write_text("# comment\n\ndef f():\n    return 1\n", encoding="utf-8")
    report: dict[str, dict[str, object]] = {"files": {}}
    result = diff_ratio({"new.py": {1, 2, 3, 4}}, report, tmp_path)
    assert result.ratio == Ratio(0, 2)  # the two code lines, not the comment or blank line
    assert result.without_data == ["new.py"]
    assert result.uncovered == {"new.py": [3, 4]}


def test_line_ranges() -> None:
    assert line_ranges([7, 1, 2, 3, 9, 10]) == "1-3, 7, 9-10"
    assert line_ranges([]) == ""
