"""Every ``$ opsctl`` example in docs/seed.md runs, on the fixture service, with its exit code."""

from __future__ import annotations

import re
import shlex

from tests.opsctl.seed.conftest import RunCli
from tests.opsctl.seed.helpers import REPOSITORY, counts

DOCS = REPOSITORY / "docs" / "seed.md"
EXAMPLE = re.compile(r"^\$ opsctl (?P<args>[^#\n]+?)\s*(?:#\s*exit (?P<code>\d))?(?::.*)?$", re.M)


def examples() -> list[tuple[list[str], int]]:
    found = [
        (shlex.split(match["args"]), int(match["code"] or 0))
        for match in EXAMPLE.finditer(DOCS.read_text(encoding="utf-8"))
    ]
    assert len(found) >= 5, "docs/seed.md lost its examples"
    return found


def test_every_documented_command_works(run_cli: RunCli, fixture_db: str) -> None:
    for args, code in examples():
        result = run_cli(*args)
        assert result.exit_code == code, (args, result.output)
        assert "Traceback" not in result.output
    # the last successful example appended seed 8 after seed 1's 5000-row spread
    assert sum(counts(fixture_db).values()) > 5000
