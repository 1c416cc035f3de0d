"""The service's tests, counted from pytest's own JUnit XML report.

pytest's exit code says too little: 0 also when every test was skipped (a ``skipif`` on a
service the machine lacks, a ``pytestmark`` left behind) or only collected (``--collect-only``),
and the coverage of such a run is import-time coverage alone. So the gate counts each test case
by its outcome, and names a failing one with pytest's own message and the place it points at.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path

_MESSAGE_CHARS = 500
# pytest's long traceback marks each entry's end with "path.py:LINE: ExceptionName"
_TRACEBACK_PLACE = re.compile(r"^(?P<file>[^\s:][^:\n]*\.py):(?P<line>\d+): ", re.MULTILINE)


@dataclass(frozen=True)
class FailingTest:
    """A test that failed or errored, or a file pytest could not collect."""

    name: str  # "tests.test_ops::test_add", or the module path for a collection error
    message: str  # pytest's message (an assertion's text), first lines only
    file: str | None = None  # where pytest's traceback points, repository-relative
    line: int | None = None
    collection: bool = False  # pytest could not even import the file or folder

    def describe(self) -> str:
        if self.collection:
            return f"could not collect {self.name}: {self.message}"
        return f"test failed: {self.name}" + (f": {self.message}" if self.message else "")


@dataclass
class TestCounts:
    """Test cases by outcome; each case is counted once, by its worst outcome."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    collected: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0  # an error in a fixture, or a file that could not be collected
    skipped: int = 0
    xfailed: int = 0
    skip_reasons: list[str] = field(default_factory=list)  # the first few distinct ones

    def as_dict(self) -> dict[str, int]:
        counts = asdict(self)
        del counts["skip_reasons"]
        return counts

    def others(self) -> str:
        """``"1 failed, 2 skipped"``: every outcome but passed that occurred."""
        parts = [
            f"{count} {name}"
            for name, count in (
                ("failed", self.failed),
                ("errors", self.errors),
                ("skipped", self.skipped),
                ("xfailed", self.xfailed),
            )
            if count
        ]
        return ", ".join(parts)

    def summary(self) -> str:
        """One line: ``"3 of 5 tests passed (1 failed, 1 skipped)"``."""
        others = self.others()
        return f"{self.passed} of {self.collected} tests passed" + (
            f" ({others})" if others else ""
        )


@dataclass(frozen=True)
class JunitResults:
    counts: TestCounts
    failing: list[FailingTest]


def read_junit(path: Path, root: Path) -> JunitResults | None:
    """The counts and failures in pytest's JUnit file; ``None`` if it is not readable XML."""
    try:
        tree = ET.parse(path)  # noqa: S314 - our own temporary file, written by pytest
    except ET.ParseError:
        return None
    cases: dict[tuple[str, str], list[ET.Element]] = {}
    for case in tree.iter("testcase"):
        # pytest writes one element per test; a teardown error may add a second one
        key = (case.get("classname", ""), case.get("name", "?"))
        cases.setdefault(key, []).extend(case)
    counts = TestCounts(collected=len(cases))
    failing: list[FailingTest] = []
    for (classname, name), children in cases.items():
        outcome, element = _outcome(children)
        setattr(counts, outcome, getattr(counts, outcome) + 1)
        if outcome == "skipped" and element is not None:
            reason = (element.get("message") or "").strip()
            if reason and reason not in counts.skip_reasons and len(counts.skip_reasons) < 3:
                counts.skip_reasons.append(reason)
        if outcome in ("failed", "errors") and element is not None:
            failing.append(_failing(classname, name, element, root))
    return JunitResults(counts, failing)


def _outcome(children: list[ET.Element]) -> tuple[str, ET.Element | None]:
    by_tag: dict[str, ET.Element] = {}
    for child in children:
        by_tag.setdefault(child.tag, child)
    if "failure" in by_tag:
        return "failed", by_tag["failure"]
    if "error" in by_tag:
        return "errors", by_tag["error"]
    skipped = by_tag.get("skipped")
    if skipped is not None:
        xfail = skipped.get("type") == "pytest.xfail"
        return ("xfailed" if xfail else "skipped"), skipped
    return "passed", None


def _failing(classname: str, name: str, element: ET.Element, root: Path) -> FailingTest:
    text = element.text or ""
    message = (element.get("message") or "").strip()
    if not classname or not message:  # "collection failure" says less than pytest's E lines
        message = _error_lines(text) or message or _last_line(text)
    place = _place(text, root)
    return FailingTest(
        name=f"{classname}::{name}" if classname else name,
        message=_shorten(message),
        file=place[0] if place else None,
        line=place[1] if place else None,
        collection=not classname,  # pytest names a collection error by its module alone
    )


def _place(text: str, root: Path) -> tuple[str, int] | None:
    """The first traceback entry in a file of the repository (the test itself, usually)."""
    for match in _TRACEBACK_PLACE.finditer(text):
        file = match["file"]
        if not Path(file).is_absolute() and (root / file).is_file():
            return Path(file).as_posix(), int(match["line"])
    return None


def _error_lines(text: str) -> str:
    """The ``E   ...`` lines of pytest's report: the exception and what it says."""
    return "\n".join(line[1:].strip() for line in text.splitlines() if line.startswith("E "))


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _shorten(message: str) -> str:
    lines = [line.rstrip() for line in message.splitlines() if line.strip()]
    short = " / ".join(lines[:3])
    return short if len(short) <= _MESSAGE_CHARS else short[: _MESSAGE_CHARS - 3] + "..."
