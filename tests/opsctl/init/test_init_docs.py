"""The ``console`` example of docs/init.md, run in a copy of the Flask fixture service."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.opsctl.cli.helpers import invoke
from tests.opsctl.cli.test_docs_examples import examples, matches, normalise
from tests.opsctl.init.services import REPOSITORY_ROOT, copy_service


def test_the_init_example_prints_what_the_docs_say(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = examples((REPOSITORY_ROOT / "docs" / "init.md").read_text(encoding="utf-8"))
    assert [example.args for example in found] == [["init", "--yes", "--dry-run"]]
    root = copy_service("flask_sqlalchemy", tmp_path)
    monkeypatch.chdir(root)
    for example in found:
        result = invoke(example.args, env={"COLUMNS": "100"})
        actual = [normalise(line, root) for line in result.output.splitlines()]
        expected = [normalise(line, root) for line in example.expected]
        assert result.exit_code == example.exit_code, result.output
        assert matches(expected, actual), result.output
    assert not (root / "opsctl.yaml").exists()  # a dry run
