"""Every ``console`` example in docs/cli.md and docs/configuration.md runs and prints what the
docs say (ports, pids, paths, latencies and table widths compared loosely; ``…`` skips lines)."""

from __future__ import annotations

import re
import shlex
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from tests.opsctl.cli.helpers import CONFIG_FIXTURES, REPOSITORY_ROOT, invoke

from opsctl.database.embedded import EmbeddedServer

DOCS = ["cli.md", "configuration.md"]
SKIP = "…"


@dataclass
class Example:
    args: list[str]
    expected: list[str] = field(default_factory=list)
    exit_code: int = 0


def examples(markdown: str) -> list[Example]:
    found: list[Example] = []
    for block in re.findall(r"```console\n(.*?)```", markdown, flags=re.DOTALL):
        lines = block.splitlines()
        index = 0
        while index < len(lines):
            line = lines[index]
            if line == "$ echo $?":
                found[-1].exit_code = int(lines[index + 1])
                index += 2
                continue
            assert line.startswith("$ opsctl"), f"not a command: {line!r}"
            example = Example(args=shlex.split(line.removeprefix("$ opsctl")))
            index += 1
            while index < len(lines) and not lines[index].startswith("$ "):
                example.expected.append(lines[index])
                index += 1
            found.append(example)
    return found


def normalise(line: str, folder: Path) -> str:
    line = line.replace(str(folder), "/path/to/repo")
    line = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", line)
    line = re.sub(r"pid \d+", "pid N", line)
    line = re.sub(r"PostgreSQL \d+", "PostgreSQL N", line)
    line = re.sub(r"\d+ ms", "N ms", line)
    line = re.sub(r"[─━│┃┏┓┗┛┡┩└┘├┤┬┴┼╇╈┳┻]", " ", line)
    return " ".join(line.split())


def matches(expected: list[str], actual: list[str]) -> bool:
    if SKIP not in expected:
        return [line for line in expected if line] == [line for line in actual if line]
    remaining = iter(actual)  # the expected lines, in order, with gaps where the docs say …
    return all(
        any(line == candidate for candidate in remaining)
        for line in expected
        if line and line != SKIP
    )


@pytest.fixture
def docs_project() -> Iterator[Path]:
    """A folder like the repository root: its opsctl.yaml, plus the files the docs name."""
    folder = Path(tempfile.mkdtemp(prefix="opsctl-docs-")).resolve()
    shutil.copy(REPOSITORY_ROOT / "opsctl.yaml", folder / "opsctl.yaml")
    shutil.copytree(REPOSITORY_ROOT / "checks", folder / "checks")
    shutil.copy(CONFIG_FIXTURES / "broken" / "unknown_env_key.yaml", folder / "broken.yaml")
    shutil.copy(CONFIG_FIXTURES / "valid" / "opsctl.yaml", folder / "valid.yaml")
    try:
        yield folder
    finally:
        EmbeddedServer(folder / ".opsctl" / "postgres").stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("doc", DOCS)
def test_doc_examples(doc: str, docs_project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = examples((REPOSITORY_ROOT / "docs" / doc).read_text(encoding="utf-8"))
    assert found
    monkeypatch.chdir(docs_project)
    for example in found:
        result = invoke(example.args, env={"COLUMNS": "100"})
        actual = [normalise(line, docs_project) for line in result.output.splitlines()]
        expected = [normalise(line, docs_project) for line in example.expected]
        assert result.exit_code == example.exit_code, (example.args, result.output)
        assert matches(expected, actual), (example.args, result.output)
